"""Command handlers; ``registry.COMMANDS`` maps REST paths to them."""
