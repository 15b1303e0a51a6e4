"""Leagues on Postgres: definitions, tiers, cohorts, seasons and results."""
