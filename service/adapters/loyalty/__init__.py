"""Adapters of the loyalty sink port: the loyalty.v1 gRPC contract and a Redis stream."""
