"""Every table of the schema, registered on one MetaData for Alembic and the tests."""

from service.adapters.postgres import (
    audit_tables,
    board_tables,
    goal_tables,
    league_tables,
    rule_tables,
    social_tables,
    tables,
)

metadata = tables.metadata

__all__ = [
    "audit_tables",
    "board_tables",
    "goal_tables",
    "league_tables",
    "metadata",
    "rule_tables",
    "social_tables",
]
