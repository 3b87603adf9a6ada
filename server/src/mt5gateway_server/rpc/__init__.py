"""The gRPC layer: server, interceptors, validation, services."""
