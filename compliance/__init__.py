"""Compliance: PII encryption and blind indexes; later consent and opt-in workflows, suppression,
residency, the right-to-be-forgotten cascade and the audit chain.
"""
