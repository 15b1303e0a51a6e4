"""The rules engine's handlers: events, tasks, badges, levels and their definitions."""
