"""The rules engine: definitions game ops configure, and how events turn into progress."""
