"""Bounded containers for what a live session keeps for its whole length.

A worn sensor may stream all day with few lifts: anything kept per sample (latencies) or
per message (warnings) must stop growing. Latencies keep every value up to ``cap``, then
a uniform sample of them (reservoir sampling, Vitter's algorithm R: each of the n values
seen has a cap/n chance to be in it) with the exact count and maximum, so percentiles
stay unbiased in a fixed amount of memory; warnings keep the first ``cap`` distinct ones
and count the rest.
"""

from __future__ import annotations

import random
from collections.abc import Iterator


class Reservoir:
    """Every value up to ``cap``, then a uniform sample of ``cap`` of them; ``n`` and
    ``max`` stay exact."""

    def __init__(self, cap: int = 100_000, seed: int = 0) -> None:
        self.cap = cap
        self.n = 0
        self.max = float("-inf")
        self._values: list[float] = []
        self._rng = random.Random(seed)

    def append(self, x: float) -> None:
        """One value in (O(1))."""
        self.n += 1
        if x > self.max:
            self.max = x
        if len(self._values) < self.cap:
            self._values.append(x)
            return
        j = self._rng.randrange(self.n)
        if j < self.cap:
            self._values[j] = x

    def __len__(self) -> int:
        return len(self._values)

    def __iter__(self) -> Iterator[float]:
        return iter(self._values)

    def __bool__(self) -> bool:
        return self.n > 0


class Messages:
    """Distinct messages in order of arrival, at most ``cap``; ``dropped`` counts the rest."""

    def __init__(self, cap: int = 200) -> None:
        self.cap = cap
        self.dropped = 0
        self._items: list[str] = []
        self._seen: set[str] = set()

    def add(self, msg: str) -> None:
        """Keep ``msg`` unless it is already there or the cap is reached (then count it)."""
        if msg in self._seen:
            return
        if len(self._items) >= self.cap:
            self.dropped += 1
            return
        self._seen.add(msg)
        self._items.append(msg)

    def extend(self, msgs: list[str]) -> None:
        """``add`` each of ``msgs``."""
        for m in msgs:
            self.add(m)

    def as_list(self) -> list[str]:
        """The kept messages, and a last line counting the dropped ones, if any."""
        more = [f"... and {self.dropped} more warnings (only the first {self.cap} are kept)"] if self.dropped else []
        return [*self._items, *more]

    def __contains__(self, msg: object) -> bool:
        return msg in self._seen

    def __len__(self) -> int:
        return len(self._items)
