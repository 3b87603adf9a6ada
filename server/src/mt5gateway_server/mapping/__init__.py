"""Pure functions between Web API DTOs / Python values and proto messages."""
