"""Leaderboards: board definitions, scores, reads, periods, exclusions and healing."""
