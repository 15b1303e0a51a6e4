"""Benchmarks: figures printed beside a no-op RPC from the same run; never part of the tests."""
