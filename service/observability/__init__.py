"""Metrics, structured logs and tracing: what the people running the service see."""
