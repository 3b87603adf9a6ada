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


class SymbolMasks:
    """A symbol list as tick/last, symbol/get and the batch filters take
    it (docs/mt5-webapi.md#masks).

    An item with ``*`` is a mask and is matched against the symbol's full path
    (``Forex\\Major\\*``, ``*USD``); "a mask needs the full path", so ``EUR*`` matches
    nothing when EURUSD lives in ``Forex\\Major``. An item without ``*`` is a plain
    symbol name or full path. A leading ``!`` excludes either kind. A list made only
    of exclusions means "every symbol except".
    """

    __slots__ = (
        "_exclude",
        "_exclude_names",
        "_include",
        "_include_names",
        "everything",
    )

    def __init__(self, items: Iterable[str]) -> None:
        include: list[re.Pattern[str]] = []
        exclude: list[re.Pattern[str]] = []
        include_names: set[str] = set()
        exclude_names: set[str] = set()
        for raw in items:
            item = raw.strip()
            negative = item.startswith("!")
            if negative:
                item = item[1:].strip()
            if not item:
                continue
            if "*" in item:
                (exclude if negative else include).append(_compile(item))
            else:
                (exclude_names if negative else include_names).add(item.lower())
        self._include = tuple(include)
        self._exclude = tuple(exclude)
        self._include_names = frozenset(include_names)
        self._exclude_names = frozenset(exclude_names)
        self.everything = (
            not include and not include_names and bool(exclude or exclude_names)
        )

    @property
    def names(self) -> frozenset[str]:
        """The plain (non-mask) items, lower case."""
        return self._include_names

    def _hit(
        self, names: frozenset[str], masks: tuple[re.Pattern[str], ...], name: str,
        path: str,
    ) -> bool:  # fmt: skip
        return (
            name.lower() in names
            or path.lower() in names
            or any(p.fullmatch(path) for p in masks)
        )

    def matches(self, name: str, path: str) -> bool:
        included = self.everything or self._hit(
            self._include_names, self._include, name, path
        )
        return included and not self._hit(
            self._exclude_names, self._exclude, name, path
        )
