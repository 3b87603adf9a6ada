"""Redis access and key formats.

``keys`` names every Redis key and channel; ``redis`` opens the client. The write
store that keeps MT5 writes exactly once lives in ``mt5gateway_server.writes``.
"""
