"""Leaderboards on Postgres: definitions, the score ledger, periods, exclusions."""
