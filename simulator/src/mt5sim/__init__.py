"""mt5sim: a protocol-faithful MT5 manager Web API simulator."""
