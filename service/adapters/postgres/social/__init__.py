"""Duels and assists on Postgres."""
