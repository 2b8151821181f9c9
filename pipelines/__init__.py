"""Dagster definitions: assets, resources, partitions, schedules and sensors, including the dbt
project's assets.
"""
