"""The FastAPI sender API: message ingestion, model endpoints, tracking, preferences, auth and
RBAC, admin.
"""
