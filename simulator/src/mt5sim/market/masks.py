"""MT5 name masks: ``*`` matches any run of characters, a leading ``!`` excludes.

A name matches a mask list when it matches at least one positive mask and no
negative one; a list made only of exclusions means "everything except" (MT5
accepts ``!demo\\forex`` alone). Matching is case-insensitive, as MT5 group and
symbol names are.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable


def is_mask(item: str) -> bool:
    return "*" in item or item.startswith("!")


@lru_cache(maxsize=2048)
def _compile(mask: str) -> re.Pattern[str]:
    body = ".*".join(re.escape(part) for part in mask.split("*"))
    return re.compile(body, re.IGNORECASE | re.DOTALL)


class MaskSet:
    __slots__ = ("_exclude", "_include", "masks")

    def __init__(self, masks: Iterable[str]) -> None:
        self.masks = tuple(m.strip() for m in masks if m.strip())
        include = [_compile(m) for m in self.masks if not m.startswith("!")]
        self._exclude = tuple(_compile(m[1:]) for m in self.masks if m.startswith("!"))
        if not include and self._exclude:
            include.append(_compile("*"))
        self._include = tuple(include)

    def matches(self, name: str) -> bool:
        return any(p.fullmatch(name) for p in self._include) and not any(
            p.fullmatch(name) for p in self._exclude
        )

    def __bool__(self) -> bool:
        return bool(self._include)

    def __repr__(self) -> str:
        return f"MaskSet({','.join(self.masks)})"


@lru_cache(maxsize=1024)
def mask_set(masks: tuple[str, ...]) -> MaskSet:
    """A cached MaskSet (manager group lists repeat on every request)."""
    return MaskSet(masks)
