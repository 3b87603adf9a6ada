"""Live feeds from MT5: quote pollers, the in-process hub and the Redis fan-out."""

from mt5gateway_server.feeds.hub import FeedKey, FeedTick, QuoteHub, Subscription
from mt5gateway_server.feeds.poller import LocalSource, QuotePoller

__all__ = [
    "FeedKey",
    "FeedTick",
    "LocalSource",
    "QuoteHub",
    "QuotePoller",
    "Subscription",
]
