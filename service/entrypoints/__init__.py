"""Ways into the service: the gRPC API and the command line."""
