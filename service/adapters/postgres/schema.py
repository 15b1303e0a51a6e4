"""Every table of the schema, registered on one MetaData for Alembic and the tests."""

from service.adapters.postgres import tables
from service.adapters.postgres.audit import tables as audit_tables
from service.adapters.postgres.boards import tables as board_tables
from service.adapters.postgres.goals import tables as goal_tables
from service.adapters.postgres.leagues import tables as league_tables
from service.adapters.postgres.rules import tables as rule_tables
from service.adapters.postgres.social import tables as social_tables

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
