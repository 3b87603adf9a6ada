"""mt5-gateway server."""
