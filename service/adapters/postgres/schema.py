"""Every table of the schema, registered on one MetaData for Alembic and the tests."""

from service.adapters.postgres import board_tables, rule_tables, tables

metadata = tables.metadata

__all__ = ["board_tables", "metadata", "rule_tables"]
