"""Adapters: the ports of the application implemented on real infrastructure."""
