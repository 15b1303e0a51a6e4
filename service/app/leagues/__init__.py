"""Leagues: definitions, cohorts formed as members play, reads, and season ends."""
