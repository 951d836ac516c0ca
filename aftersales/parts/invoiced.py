"""Whether a repair order is invoiced, for the parts returned from a job (refused once the order is invoiced).

Invoices are billing's (above parts); billing provides the answer at start (``provide_invoiced_check`` in
``BillingConfig.ready``), so that parts does not import it (issue 19). Without billing nothing is invoiced."""

from __future__ import annotations

from collections.abc import Callable

_CHECK: list[Callable[[int], bool]] = []


def provide_invoiced_check(check: Callable[[int], bool]) -> None:
    _CHECK[:] = [check]


def order_invoiced(order_id: int) -> bool:
    return bool(_CHECK and _CHECK[0](order_id))
