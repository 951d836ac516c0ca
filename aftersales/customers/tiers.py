"""Whether a customer is tier A, for the apps below engagement (issue 19: no upward import).

Engagement decides the tiers (R/F/M, aftersales/engagement); the apps below it still need one answer: the priority
lane of appointments (SPEC §3, §10) and the free pickup of mobility. Engagement provides the answer in its
``AppConfig.ready()`` (``provide_tier_a``); without engagement installed no customer is tier A.
"""

from __future__ import annotations

from typing import Any, Protocol


class TierAReader(Protocol):
    def __call__(self, customer: Any, *, stored_only: bool) -> bool:
        """Whether ``customer`` is tier A: from the stored tier only (``stored_only``), or also computed as of today
        when none is stored yet."""
        ...


_reader: list[TierAReader] = []


def provide_tier_a(reader: TierAReader) -> None:
    """Engagement's answer (called once from its ``AppConfig.ready()``; a second call replaces the first)."""
    _reader[:] = [reader]


def is_tier_a(customer: Any, *, stored_only: bool = False) -> bool:
    """Whether ``customer`` is tier A (False when no app provides tiers)."""
    return bool(_reader and _reader[0](customer, stored_only=stored_only))
