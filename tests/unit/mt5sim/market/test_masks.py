from __future__ import annotations

import pytest
from mt5sim.market.masks import MaskSet, SymbolMasks, is_mask, mask_set


@pytest.mark.parametrize(
    ("masks", "name", "expected"),
    [
        (["*"], "demo\\forex", True),
        (["demo\\*"], "demo\\forex", True),
        (["demo\\*"], "real\\vip", False),
        (["demo*", "!demo\\forex"], "demo\\forex", False),
        (["demo*", "!demo\\forex"], "demo\\forex-usd", True),
        (["!demo\\forex"], "real\\vip", True),
        (["!demo\\forex"], "demo\\forex", False),
        (["DEMO\\FOREX"], "demo\\forex", True),
        (["Forex\\Major*"], "Forex\\Major\\EURUSD", True),
        (["Forex\\Major*"], "Forex\\Minor\\EURGBP", False),
        (["*USD"], "EURUSD", True),
        (["*USD"], "USDJPY", False),
        (["a.b"], "axb", False),
        (["*\\*"], "real\\vip", True),
        ([], "anything", False),
    ],
)
def test_matches(masks: list[str], name: str, expected: bool) -> None:
    assert MaskSet(masks).matches(name) is expected


def test_empty_items_are_ignored() -> None:
    assert MaskSet(["", " ", "real\\*"]).masks == ("real\\*",)
    assert not MaskSet(["", " "])


def test_is_mask() -> None:
    assert is_mask("Forex\\*")
    assert is_mask("!AUDUSD")
    assert not is_mask("EURUSD")


def test_mask_set_is_cached() -> None:
    assert mask_set(("demo\\*",)) is mask_set(("demo\\*",))


@pytest.mark.parametrize(
    ("items", "name", "path", "hit"),
    [
        # Masks match the full path only (docs/mt5-webapi.md#masks).
        (["EUR*"], "EURUSD", "Forex\\Major\\EURUSD", False),
        (["Forex\\*"], "EURUSD", "Forex\\Major\\EURUSD", True),
        (["*USD"], "EURUSD", "Forex\\Major\\EURUSD", True),
        (["forex\\major\\eur*"], "EURUSD", "Forex\\Major\\EURUSD", True),
        # Plain items: a name or a full path, any case.
        (["eurusd"], "EURUSD", "Forex\\Major\\EURUSD", True),
        (["Forex\\Major\\EURUSD"], "EURUSD", "Forex\\Major\\EURUSD", True),
        (["Forex\\Major"], "EURUSD", "Forex\\Major\\EURUSD", False),
        # "!" excludes a name, a path or a path mask; exclusions alone mean "all but".
        (["Forex\\*", "!EURUSD"], "EURUSD", "Forex\\Major\\EURUSD", False),
        (["Forex\\*", "!Forex\\Major\\*"], "EURUSD", "Forex\\Major\\EURUSD", False),
        (["!EUR*"], "EURUSD", "Forex\\Major\\EURUSD", True),
        (["!EURUSD"], "EURUSD", "Forex\\Major\\EURUSD", False),
        (["!EURUSD"], "GBPUSD", "Forex\\Major\\GBPUSD", True),
        ([], "EURUSD", "Forex\\Major\\EURUSD", False),
    ],
)
def test_symbol_masks(items, name, path, hit) -> None:
    assert SymbolMasks(items).matches(name, path) is hit
