"""Standalone async leaderboard library on Redis sorted sets; it never imports the service."""
