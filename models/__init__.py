"""Pure machine learning (DataFrames in, models out): send-time, personalization and anomaly models
with their MLflow glue. Nothing here touches the database.
"""
