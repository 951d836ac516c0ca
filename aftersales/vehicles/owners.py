"""The owner of a vehicle, looked up for the vehicle API (the new owner of a transfer, the owner of a new vehicle).

Customers sit beside vehicles and import them (a customer's cars); so that vehicles does not import customers back
(issue 19: no circle), customers provides the scoped lookup at start (``CustomersConfig.ready``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: (acting user, customer id) → the customer, scoped to what the user may see (a 404 otherwise)
_LOOKUP: list[Callable[[Any, int], Any]] = []


def provide_owner_lookup(lookup: Callable[[Any, int], Any]) -> None:
    _LOOKUP[:] = [lookup]


def owner_get(user: Any, customer_id: int) -> Any:
    """The customer ``customer_id`` as ``user`` may see it (customers.selectors.customer_get)."""
    if not _LOOKUP:
        raise RuntimeError("no owner lookup: the customers app provides it in its AppConfig.ready()")
    return _LOOKUP[0](user, customer_id)
