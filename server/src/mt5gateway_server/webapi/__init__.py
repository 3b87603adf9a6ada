"""MT5 Web API client and session pool: the only package that imports aiohttp."""
