"""Game-ops commands of `engagement`: they talk gRPC to the admin API through engagement_client."""
