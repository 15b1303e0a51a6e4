"""The rules engine on Postgres: definitions, user state and events."""
