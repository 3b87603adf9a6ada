from __future__ import annotations

import pytest
from mt5sim.market.masks import MaskSet, is_mask, mask_set


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
