"""One module per gRPC service; each servicer takes ``ServiceDeps``."""
