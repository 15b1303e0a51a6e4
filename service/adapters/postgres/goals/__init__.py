"""Goals on Postgres: definitions, totals, contributions and teams."""
