"""The gRPC API: servicers translate protos to commands; one module maps errors."""
