"""The owner's pickup voucher, checked when a pickup is ordered (read only; redeemed at the till).

Vouchers are loyalty's (above mobility); loyalty provides the check at start (``provide_voucher_check`` in
``LoyaltyConfig.ready``), so that mobility does not import it (issue 19). The check answers with the voucher and
what is wrong with it, if anything; mobility says so in its own words (``trips.pickup_voucher``)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal, Protocol

#: "" (usable), "unknown" (no voucher of this customer has the code), "not_covered" (not a free item covering the
#: service code at this store), "used" (used, cancelled, or not valid that day)
VoucherProblem = Literal["", "unknown", "not_covered", "used"]


class VoucherCheck(Protocol):
    def __call__(
        self, *, customer_id: int, code: str, service_code: str, store_id: int, on: dt.date
    ) -> tuple[Any, VoucherProblem]: ...


_CHECK: list[VoucherCheck] = []


def provide_voucher_check(check: VoucherCheck) -> None:
    _CHECK[:] = [check]


def check_voucher(*, customer_id: int, code: str, service_code: str, store_id: int, on: dt.date) -> tuple[Any, VoucherProblem]:
    """(voucher, problem) for the customer's voucher ``code`` (already stripped and upper-cased); ("unknown") when
    no app provides vouchers."""
    if not _CHECK:
        return None, "unknown"
    return _CHECK[0](customer_id=customer_id, code=code, service_code=service_code, store_id=store_id, on=on)

