"""Declarative game configuration: YAML files that describe the whole game, applied over gRPC."""
