"""The in-memory broker state (filled in by the market module)."""


class Broker:
    pass
