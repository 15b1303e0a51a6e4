"""Postgres persistence: tables, migrations and the unit of work."""
