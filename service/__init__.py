"""Gamified engagement microservice: check-ins, streaks, rewards and more over gRPC."""
