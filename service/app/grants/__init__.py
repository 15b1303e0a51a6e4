"""Grants for operators: listing, inspecting, retrying and reconciling."""
