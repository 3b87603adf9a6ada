"""The simulated broker: seeded market, accounts, trading, prices."""
