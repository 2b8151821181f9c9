"""The PostgreSQL warehouse: migrations, connections to the control database and region cells,
partition maintenance, the bulk event writer and small typed repositories.
"""
