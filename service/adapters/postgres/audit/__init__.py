"""The audit log on Postgres."""
