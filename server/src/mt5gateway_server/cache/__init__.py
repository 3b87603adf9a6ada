"""Redis access, key formats and the idempotency store.

``keys`` names every Redis key and channel; ``redis`` opens the client;
``idempotency`` keeps money operations exactly-once (in memory or in Redis).
"""
