"""The money chaos suite: real processes (mt5sim, the gateway, redis-server) and a
fault proxy; see ``harness.py``. Marked ``chaos`` (``-m "not chaos"`` skips it)."""
