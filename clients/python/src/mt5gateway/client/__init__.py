"""Hand-written helpers around the generated mt5gateway.v1 stubs."""
