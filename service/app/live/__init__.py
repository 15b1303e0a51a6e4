"""Live feedback: what handlers publish to users' feeds, and watching a feed."""
