"""Writes of the loyalty app: the points ledger, gifts, vouchers and referrals (SPEC §12).

The points ledger: every change is one :class:`PointsEntry` written under the customer's row lock (SELECT ... FOR
UPDATE on PostgreSQL; SQLite serialises writers) with the running balance, which never goes below zero (checked
here and by database constraints, also when redemptions race). Positive entries are lots that negative entries
consume first-in first-out by expiry date; each entry has a unique ``source_key`` so that the same event (a paid
invoice, a check-in, a redemption request) never writes twice. ``Customer.points_balance`` is updated in the same
transaction (the ledger is the truth; ``loyalty_check`` compares them).

``actor=None`` means the system (a periodic sweep, a playbook step): no permission check, recorded without a user.
"""

from __future__ import annotations

import calendar
import datetime as dt
import logging
import secrets
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Max, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from aftersales.common import audit
from aftersales.common.errors import Conflict, NotFound, ValidationFailed
from aftersales.common.money import ZERO, q
from aftersales.common.permissions import require, require_store
from aftersales.common.readtime import coded, coded_label
from aftersales.common.transitions import move
from aftersales.customers.models import Customer

from .choices import (
    BEHAVIOURS,
    REFERRAL_TRANSITIONS,
    VOUCHER_MESSAGE_KIND,
    VOUCHER_TRANSITIONS,
    EntryKind,
    EntrySource,
    ReferralStatus,
    VoucherKind,
    VoucherStatus,
)
from .models import (
    Gift,
    GiftRedemption,
    LoyaltySettings,
    PointsAllocation,
    PointsClawback,
    PointsEntry,
    Referral,
    ReferralEvent,
    Voucher,
    VoucherEvent,
    VoucherTemplate,
)

log = logging.getLogger(__name__)

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read out over the phone
MAX_POINTS = 10_000_000


# ---- settings and dates -------------------------------------------------------------------------------------
def loyalty_settings(store: Any) -> LoyaltySettings:
    """The store's rules; the defaults (an unsaved row) while the store has not changed them."""
    found = LoyaltySettings.objects.filter(store_id=store.pk).first()
    return found if found is not None else LoyaltySettings(store=store)


SETTINGS_FIELDS = ("points_per_cny", "checkin_points", "review_points", "referral_points", "sharing_points",
                   "expiry_months", "points_per_cny_redeemed", "max_redeem_share")


def loyalty_settings_update(*, actor: Any, store: Any, **values: Any) -> LoyaltySettings:
    """Change a store's earn, redeem and expiry rules (manager); each value checked, the change audited."""
    _check_store(actor, "loyalty.change_loyaltysettings", store)
    unknown = set(values) - set(SETTINGS_FIELDS)
    if unknown:
        raise ValidationFailed("unknown_field", _("Unknown setting “%(v)s”.") % {"v": sorted(unknown)[0]}, sorted(unknown)[0])
    clean: dict[str, Any] = {}
    for name, value in values.items():
        try:
            number = Decimal(str(value).strip())
        except ArithmeticError as exc:
            raise ValidationFailed("number_format", _("Enter a number."), name) from exc
        if not number.is_finite() or number < 0:
            raise ValidationFailed("number_negative", _("Enter a number that is zero or more."), name)
        if name == "max_redeem_share" and number > 1:
            raise ValidationFailed("share_too_large", _("Enter a share between 0 and 1 (e.g. 0.5 for half)."), name)
        if name == "points_per_cny_redeemed" and number < 1:
            raise ValidationFailed("redeem_rate_too_small", _("At least 1 point is needed for 1 CNY."), name)
        if name in ("points_per_cny", "max_redeem_share"):
            if number != number.quantize(Decimal("0.01")) or number >= 10000:
                raise ValidationFailed("number_precision", _("Use at most two decimal places."), name)
            clean[name] = number
        else:
            if number != number.to_integral_value() or number > 1_000_000:
                raise ValidationFailed("number_not_whole", _("Enter a whole number."), name)
            clean[name] = int(number)
    with transaction.atomic():
        LoyaltySettings.objects.get_or_create(store=store)
        locked, changes = audit.update_locked(LoyaltySettings, LoyaltySettings.objects.get(store=store).pk, clean, SETTINGS_FIELDS)
        if changes:
            audit.record(actor=actor, obj=locked, action="loyalty.settings_changed", store_id=store.pk, changes=changes)
    return locked


def local_date(store: Any, at: dt.datetime | None = None) -> dt.date:
    return timezone.localtime(at or timezone.now(), store.zone).date()


def add_months_end(day: dt.date, months: int) -> dt.date:
    """The last day of the month ``months`` after ``day``'s month (points earned in Jan 2026, 24 → 31 Jan 2028)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return dt.date(year, month + 1, calendar.monthrange(year, month + 1)[1])


def _who(actor: Any) -> Any:
    return actor if getattr(actor, "pk", None) else None


def _check_store(actor: Any, perm: str, store: Any) -> None:
    if actor is not None:
        require(actor, perm)
        require_store(actor, store.pk)


def _same_group(customer: Any, store: Any) -> None:
    if customer.group_id != store.group_id:
        raise NotFound("not_found", _("Not found, or not visible to you."), "customer")


# ---- the ledger core ------------------------------------------------------------------------------------------
def _lock_customer(customer: Any) -> Customer:
    return Customer.objects.select_for_update().get(pk=customer.pk)


def _ledger_balance(customer_id: int) -> int:
    last = PointsEntry.objects.filter(customer_id=customer_id).order_by("-id").values_list("balance_after", flat=True).first()
    return int(last or 0)


def _existing(source_key: str) -> PointsEntry | None:
    return PointsEntry.objects.filter(source_key=source_key).first()


def _write(
    *,
    locked: Customer,
    store: Any,
    kind: str,
    source: str,
    points: int,
    source_key: str,
    actor: Any,
    at: dt.datetime,
    note: str = "",
    invoice: Any = None,
    cny_value: Decimal | None = None,
    reverses: PointsEntry | None = None,
    expires_on: dt.date | None = None,
    prefer_lot: PointsEntry | None = None,
    rules: LoyaltySettings | None = None,
) -> PointsEntry:
    """Append one entry for the locked customer; credits open a lot, debits consume lots FIFO."""
    if points == 0:
        raise ValidationFailed("points_zero", _("The number of points must not be zero."), "points")
    balance = _ledger_balance(locked.pk)
    new_balance = balance + points
    if new_balance < 0:
        raise ValidationFailed(
            "insufficient_points",
            _("Only %(n)s points available.") % {"n": balance},
            "points",
            balance=balance,
        )
    if points > 0 and expires_on is None and kind != EntryKind.REVERSE:
        months = (rules or loyalty_settings(store)).expiry_months
        expires_on = add_months_end(local_date(store, at), months) if months else None
    entry = PointsEntry.objects.create(
        group_id=locked.group_id, customer=locked, store=store, kind=kind, source=source, points=points,
        balance_after=new_balance, remaining=max(points, 0), expires_on=expires_on if points > 0 else None,
        source_key=source_key[:120], invoice=invoice, cny_value=cny_value, reverses=reverses, at=at, actor=_who(actor),
        note=note[:300],
    )
    if points < 0:
        _consume(entry, -points, prefer_lot=prefer_lot)
    Customer.objects.filter(pk=locked.pk).update(points_balance=new_balance)
    locked.points_balance = new_balance
    return entry


def _consume(debit: PointsEntry, amount: int, *, prefer_lot: PointsEntry | None = None) -> None:
    """Take ``amount`` points from the customer's open lots: ``prefer_lot`` first, then earliest expiry first."""
    lots = list(
        PointsEntry.objects.select_for_update()
        .filter(customer_id=debit.customer_id, remaining__gt=0)
        .order_by(F("expires_on").asc(nulls_last=True), "at", "id")
    )
    if prefer_lot is not None:
        lots.sort(key=lambda lot: lot.pk != prefer_lot.pk)
    left = amount
    for lot in lots:
        if left == 0:
            break
        take = min(lot.remaining, left)
        lot.remaining -= take
        lot.save(update_fields=["remaining"])
        PointsAllocation.objects.create(debit=debit, lot=lot, points=take)
        left -= take
    if left:  # the balance and the lots disagree: refuse rather than write an inconsistent ledger
        raise Conflict("ledger_inconsistent", _("The points ledger needs repair; ask an administrator."), "points")


def points_reason(*, kind: str, source: str, points: int, note: Any, by_owner: bool = False) -> str:
    """An entry's audit reason, as a code rendered when read: its kind and source as words in the reader's language
    ("Redeemed · Gift −200 …", "兑换 · 礼品 -200 …"), the note as written (a coded note rendered too)."""
    msgid = (gettext_noop("%(kind)s · %(source)s %(points)s %(note)s (owner app)") if by_owner
             else gettext_noop("%(kind)s · %(source)s %(points)s %(note)s"))
    return coded(msgid, kind=coded_label(EntryKind(kind).label), source=coded_label(EntrySource(source).label),
                 points=f"{points:+d}", note=note or "")


def _record(actor: Any, entry: PointsEntry, action: str, *, by_owner: bool = False) -> None:
    audit.record(
        actor=actor, obj=entry, action=action, store_id=entry.store_id, customer_id=entry.customer_id,
        changes={"points_balance": [entry.balance_after - entry.points, entry.balance_after]},
        reason=points_reason(kind=entry.kind, source=entry.source, points=entry.points, note=entry.note, by_owner=by_owner),
        at=entry.at,
    )


def _check_owner(owner: Any, customer_id: int | None) -> None:
    """The owner app's path (``owner`` = the signed-in customer, ``actor`` None): only their own points, vouchers and
    invoices; anything else is not found (never "forbidden": an owner must not learn what exists)."""
    if owner is None or customer_id != owner.pk:
        raise NotFound("not_found", _("Not found, or not visible to you."), "invoice")


def _parse_points(value: Any, field: str = "points", *, allow_negative: bool = False) -> int:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError) as exc:
        raise ValidationFailed("points_format", _("Enter a whole number of points."), field) from exc
    if number == 0 or (number < 0 and not allow_negative):
        raise ValidationFailed("points_not_positive", _("The number of points must be more than zero."), field)
    if abs(number) > MAX_POINTS:
        raise ValidationFailed("points_too_large", _("The number of points is too large."), field)
    return number


def _key(value: str, field: str = "idempotency_key") -> str:
    key = (value or "").strip()
    if not key:
        raise ValidationFailed("idempotency_key_required", _("An idempotency key is required."), field)
    if len(key) > 100:
        raise ValidationFailed("idempotency_key_too_long", _("The idempotency key is too long (100 characters at most)."), field)
    return key


def _idempotent(source_key: str, fn: Any) -> Any:
    """Run ``fn`` (which writes the entry with ``source_key``); a concurrent twin's entry wins without error."""
    existing = _existing(source_key)
    if existing is not None:
        return existing, False
    try:
        return fn(), True
    except IntegrityError:
        existing = _existing(source_key)
        if existing is not None:
            return existing, False
        raise


# ---- earning ---------------------------------------------------------------------------------------------------
#: invoice states in which nothing more can be taken off or paid (billing may add states; anything else is open)
CLOSED_INVOICE_STATES = {"paid", "void", "voided", "cancelled", "refunded", "partially_refunded", "draft"}


def _invoice_is_paid(invoice: Any) -> bool:
    return getattr(invoice, "status", "") == "paid"


def invoice_is_open(invoice: Any) -> bool:
    return getattr(invoice, "status", "") not in CLOSED_INVOICE_STATES


def _points_paid(invoice_id: int) -> tuple[Decimal, Decimal]:
    """(CNY paid with points on the invoice, CNY of those points given back by refunds or reversals)."""
    row = PointsEntry.objects.filter(invoice_id=invoice_id).aggregate(
        spent=Sum("cny_value", filter=Q(kind=EntryKind.REDEEM)),
        back=Sum("cny_value", filter=Q(kind=EntryKind.REVERSE, reverses__kind=EntryKind.REDEEM)),
    )
    return Decimal(row["spent"] or 0), Decimal(row["back"] or 0)


def invoice_earn_base(invoice: Any) -> Decimal:
    """The money an invoice earns points on: what was paid and kept (paid − refunded, never more than what is owed
    after credit notes), less what was paid with points (net of points given back). Refunds and credit notes lower
    it; the points of a lower base are taken back by :func:`points_take_back`."""
    spent, back = _points_paid(invoice.pk)
    kept = min(
        Decimal(invoice.paid_amount or 0) - Decimal(getattr(invoice, "refunded_amount", 0) or 0),
        Decimal(invoice.total or 0) - Decimal(getattr(invoice, "credited_amount", 0) or 0),
    )
    return max(kept - (spent - back), ZERO)


def invoice_points(invoice: Any, rules: LoyaltySettings | None = None) -> int:
    """Points a paid invoice earns: what was paid and kept (less what was paid with points) × the store's rate,
    rounded down."""
    rate = (rules or loyalty_settings(invoice.store)).points_per_cny
    return max(int((invoice_earn_base(invoice) * rate).to_integral_value(rounding=ROUND_DOWN)), 0)


def _actor(actor_id: int | None) -> Any:
    from aftersales.staff.models import User

    return User.objects.filter(pk=actor_id).first() if actor_id else None


def on_invoice_paid(event: Any) -> None:
    """Handler of ``events.InvoicePaid`` (subscribed in apps.py): the invoice's points."""
    from aftersales.billing.models import Invoice

    invoice = Invoice.objects.select_related("store", "customer").filter(pk=event.invoice_id).first()
    if invoice is not None:  # just read: earned from it without reading it again (issue 19)
        _earn_for_invoice(invoice, actor=_actor(event.actor_id))


def on_money_returned(event: Any) -> None:
    """Handler of ``events.MoneyReturned`` (subscribed in apps.py): take back the points in proportion."""
    from aftersales.billing.models import CreditNote, Refund

    refund = Refund.objects.filter(pk=event.refund_id).first() if event.refund_id else None
    credit_note = CreditNote.objects.filter(pk=event.credit_note_id).first() if event.credit_note_id else None
    if refund is not None or credit_note is not None:
        points_take_back(refund=refund, credit_note=credit_note, actor=_actor(event.actor_id))


def points_earn_for_invoice(*, invoice: Any, actor: Any = None) -> PointsEntry | None:
    """Earn the points of a paid invoice once (idempotent by invoice); qualify a pending referral of its customer.

    Billing calls this after a payment completes an invoice; ``loyalty_earn_sweep`` finds any it missed. Returns the
    earn entry (the existing one when already earned), or None when the invoice is not paid or earns nothing.
    """
    from aftersales.billing.models import Invoice

    return _earn_for_invoice(Invoice.objects.select_related("store", "customer").get(pk=invoice.pk), actor=actor)


def _earn_for_invoice(invoice: Any, *, actor: Any) -> PointsEntry | None:
    """:func:`points_earn_for_invoice` of an invoice just read with its store and customer."""
    if not _invoice_is_paid(invoice) or getattr(invoice, "bill_to", "") == "insurer":  # the insurer's money earns nothing
        return None
    key = f"invoice:{invoice.pk}"  # looked up once, under the customer's lock below (issue 19)
    rules = loyalty_settings(invoice.store)
    base = invoice_earn_base(invoice)
    points = max(int((base * rules.points_per_cny).to_integral_value(rounding=ROUND_DOWN)), 0)
    at = invoice.paid_at or timezone.now()

    def write() -> PointsEntry | None:
        with transaction.atomic():
            locked = _lock_customer(invoice.customer)
            again = _existing(key)
            if again is not None:
                return again
            entry = None
            if points > 0:
                entry = _write(
                    locked=locked, store=invoice.store, kind=EntryKind.EARN, source=EntrySource.PURCHASE, points=points,
                    source_key=key, actor=actor, at=at, invoice=invoice, rules=rules, cny_value=q(base),
                    note=coded(gettext_noop("Invoice %(n)s"), n=invoice.number),
                )
                _record(actor, entry, "points.earned")
            _qualify_referral(customer=locked, invoice=invoice, actor=actor)
            return entry

    try:
        return write()
    except IntegrityError:
        found = _existing(key)
        if found is not None:
            return found
        raise


def points_earn_behaviour(*, actor: Any, customer: Any, store: Any, behaviour: str, source_key: str, note: str = "") -> PointsEntry:
    """Points for a check-in, review, referral or sharing, as the store configures them; once per ``source_key``
    (e.g. ``checkin:appointment:17``, ``review:feedback:9``)."""
    _check_store(actor, "loyalty.add_pointsentry", store)
    _same_group(customer, store)
    if behaviour not in BEHAVIOURS:
        raise ValidationFailed("invalid_choice", _("“%(v)s” is not a valid choice.") % {"v": behaviour}, "behaviour")
    key = f"{behaviour}:{_key(source_key, 'source_key')}"
    points = int(getattr(loyalty_settings(store), f"{behaviour}_points"))
    if points <= 0:
        raise ValidationFailed("behaviour_not_rewarded", _("This store gives no points for this."), "behaviour")

    def write() -> PointsEntry:
        with transaction.atomic():
            locked = _lock_customer(customer)
            found = _existing(key)
            if found is not None:
                return found
            entry = _write(locked=locked, store=store, kind=EntryKind.EARN, source=behaviour, points=points,
                           source_key=key, actor=actor, at=timezone.now(), note=note)
            _record(actor, entry, "points.earned")
            return entry

    entry, _created = _idempotent(key, write)
    return entry


# ---- spending --------------------------------------------------------------------------------------------------
def points_quote(*, invoice: Any, points: int) -> Decimal:
    """The CNY value of ``points`` on ``invoice`` under its store's rate (no cap applied)."""
    rate = loyalty_settings(invoice.store).points_per_cny_redeemed
    return q(Decimal(points) / Decimal(rate))


def points_redeem_cap(invoice: Any) -> Decimal:
    """The most that points may pay of this invoice: the store's share of the total, less points already used."""
    share = loyalty_settings(invoice.store).max_redeem_share
    used = PointsEntry.objects.filter(invoice_id=invoice.pk, kind=EntryKind.REDEEM).aggregate(v=Sum("cny_value"))["v"] or ZERO
    reversed_ = PointsEntry.objects.filter(invoice_id=invoice.pk, kind=EntryKind.REVERSE, reverses__kind=EntryKind.REDEEM).aggregate(
        v=Sum("cny_value"))["v"] or ZERO
    outstanding = (  # the balance: refunded money is owed again, credited money is not
        Decimal(invoice.total) - Decimal(getattr(invoice, "credited_amount", 0) or 0)
        - Decimal(invoice.paid_amount or 0) + Decimal(getattr(invoice, "refunded_amount", 0) or 0)
    )
    return max(min(q(Decimal(invoice.total) * share) - used + reversed_, outstanding), ZERO)


def points_redeem_on_invoice(
    *, actor: Any, customer: Any, invoice: Any, points: Any, idempotency_key: str, owner: Any = None,
) -> Decimal:
    """Spend ``points`` against ``invoice`` and return their CNY value (what billing takes off / records as paid).

    Refuses (nothing written): another customer's invoice, an invoice that is not open, fewer points held, a value
    above the store's share of the invoice, points that are not a whole multiple of one cent. The same
    idempotency key returns the first result and spends nothing more.

    ``owner``: the owner app's path (the signed-in customer pays their own invoice; ``actor`` is None): no staff
    permission, but only their own invoice, and the key is namespaced by the customer (no one else's key replays).
    """
    from aftersales.billing.models import Invoice

    if owner is not None:
        _check_owner(owner, customer.pk)
        _check_owner(owner, invoice.customer_id)
        key = f"redeem:owner{owner.pk}:{_key(idempotency_key)}"
    else:
        _check_store(actor, "loyalty.redeem_points", invoice.store)
        key = f"redeem:{_key(idempotency_key)}"
    found = _existing(key)
    if found is not None:
        return Decimal(found.cny_value or 0)
    number = _parse_points(points)
    invoice = Invoice.objects.select_related("store").get(pk=invoice.pk)
    if invoice.customer_id != customer.pk:
        raise ValidationFailed("invoice_other_customer", _("This invoice belongs to another customer."), "invoice")
    if not invoice_is_open(invoice):
        raise Conflict("invoice_not_open", _("This invoice is not open for payment."), "invoice")
    rate = loyalty_settings(invoice.store).points_per_cny_redeemed
    if number % max(rate // 100, 1):
        raise ValidationFailed(
            "points_not_whole_cents", _("Redeem points in steps of %(n)s (one cent).") % {"n": max(rate // 100, 1)}, "points",
        )
    value = points_quote(invoice=invoice, points=number)
    if value <= 0:
        raise ValidationFailed("points_too_few", _("%(n)s points are worth less than one cent.") % {"n": number}, "points")

    def write() -> PointsEntry:
        with transaction.atomic():
            locked = _lock_customer(customer)
            again = _existing(key)
            if again is not None:
                return again
            cap = points_redeem_cap(invoice)
            if value > cap:
                raise ValidationFailed(
                    "points_over_cap",
                    _("Points can pay at most %(cap)s of this invoice.") % {"cap": cap},
                    "points",
                    cap=str(cap),
                )
            entry = _write(
                locked=locked, store=invoice.store, kind=EntryKind.REDEEM, source=EntrySource.INVOICE, points=-number,
                source_key=key, actor=actor, at=timezone.now(), invoice=invoice, cny_value=value,
                note=coded(gettext_noop("Invoice %(n)s"), n=invoice.number),
            )
            _record(actor, entry, "points.redeemed", by_owner=owner is not None)
            return entry

    entry, _created = _idempotent(key, write)
    return Decimal(entry.cny_value or 0)


def gift_redeem(*, actor: Any, customer: Any, gift: Gift, idempotency_key: str) -> GiftRedemption:
    """Exchange points for a gift from the store's catalogue: one unit of stock, its points cost."""
    _check_store(actor, "loyalty.add_giftredemption", gift.store)
    _same_group(customer, gift.store)
    key = f"gift:{_key(idempotency_key)}"
    found = _existing(key)
    if found is not None:
        return found.gift_redemption

    def write() -> PointsEntry:
        with transaction.atomic():
            locked = _lock_customer(customer)
            again = _existing(key)
            if again is not None:
                return again
            locked_gift = Gift.objects.select_for_update().get(pk=gift.pk)
            if not locked_gift.is_active:
                raise ValidationFailed("gift_inactive", _("This gift is no longer offered."), "gift")
            if locked_gift.stock < 1:
                raise ValidationFailed("gift_out_of_stock", _("This gift is out of stock."), "gift")
            entry = _write(
                locked=locked, store=locked_gift.store, kind=EntryKind.REDEEM, source=EntrySource.GIFT,
                points=-locked_gift.points_cost, source_key=key, actor=actor, at=timezone.now(), note=locked_gift.name_zh,
            )
            locked_gift.stock -= 1
            locked_gift.save(update_fields=["stock"])
            GiftRedemption.objects.create(gift=locked_gift, customer=locked, store=locked_gift.store, entry=entry, actor=_who(actor))
            _record(actor, entry, "points.gift")
            return entry

    entry, _created = _idempotent(key, write)
    return GiftRedemption.objects.get(entry=entry)


def points_adjust(*, actor: Any, customer: Any, store: Any, points: Any, reason: str, idempotency_key: str) -> PointsEntry:
    """A manager's correction, up or down, with a reason; never below zero."""
    _check_store(actor, "loyalty.adjust_points", store)
    _same_group(customer, store)
    number = _parse_points(points, allow_negative=True)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("reason_required", _("Give a reason for the adjustment."), "reason")
    key = f"adjust:{_key(idempotency_key)}"

    def write() -> PointsEntry:
        with transaction.atomic():
            locked = _lock_customer(customer)
            again = _existing(key)
            if again is not None:
                return again
            entry = _write(locked=locked, store=store, kind=EntryKind.ADJUST, source=EntrySource.MANUAL, points=number,
                           source_key=key, actor=actor, at=timezone.now(), note=reason)
            _record(actor, entry, "points.adjusted")
            return entry

    entry, _created = _idempotent(key, write)
    return entry


def _earliest_expiry(debit: PointsEntry) -> dt.date | None:
    """The earliest expiry of the lots a debit used: points given back come back with it (never a longer life)."""
    return (
        PointsEntry.objects.filter(uses__debit=debit).order_by(F("expires_on").asc(nulls_last=True))
        .values_list("expires_on", flat=True).first()
    )


def _already_reversed(original: PointsEntry) -> int:
    """How much of ``original`` was already undone: the points of its reversals (a refund's share, a manager's
    reversal) plus, for an invoice's earn, what refunds were owed but could not take because it had been spent."""
    done = abs(int(PointsEntry.objects.filter(reverses=original).aggregate(s=Sum("points"))["s"] or 0))
    if original.points > 0 and original.invoice_id and original.source_key == f"invoice:{original.invoice_id}":
        short = PointsClawback.objects.filter(invoice_id=original.invoice_id).aggregate(s=Sum(F("due") - F("taken")))["s"]
        done += int(short or 0)
    return done


def points_reverse(*, actor: Any, entry: PointsEntry, reason: str) -> PointsEntry:
    """Undo an earn (e.g. a refunded invoice) or a redemption (e.g. a voided invoice) once, as far as refunds have
    not already undone it (``already_reversed`` when nothing is left).

    Reversing a redemption gives back exactly the points to the lots they came from (a new lot with the earliest
    of their expiry dates). Reversing an earn takes its points back from that lot first; when the customer has
    spent them meanwhile, only what is left in the balance is taken (the note says so), never below zero.
    """
    _check_store(actor, "loyalty.adjust_points", entry.store)
    key = f"reverse:{entry.pk}"

    def write() -> PointsEntry:
        with transaction.atomic():
            locked = _lock_customer(entry.customer)
            again = _existing(key)
            if again is not None:
                return again
            original = PointsEntry.objects.select_related("store").get(pk=entry.pk)
            if original.kind not in (EntryKind.EARN, EntryKind.REDEEM, EntryKind.ADJUST):
                raise Conflict("not_reversible", _("This entry cannot be reversed."), "entry")
            note = (reason or "").strip()[:200]
            left = abs(original.points) - _already_reversed(original)
            if left <= 0:
                raise Conflict("already_reversed", _("This entry has already been taken back in full."), "entry")
            if original.points < 0:
                expiry = _earliest_expiry(original)
                points = left
            else:
                balance = _ledger_balance(locked.pk)
                points = -min(left, balance)
                expiry = None
                if points == 0:
                    raise ValidationFailed("insufficient_points", _("Only %(n)s points available.") % {"n": 0}, "points")
                if -points < left:
                    shortfall = _("only %(n)s points were left to take back") % {"n": -points}
                    note = f"{note} ({shortfall})".strip()
            value = original.cny_value
            if value is not None and original.points < 0:  # what a refund already gave back is not given twice
                value = q(value - (PointsEntry.objects.filter(reverses=original).aggregate(v=Sum("cny_value"))["v"] or ZERO))
            reversal = _write(
                locked=locked, store=original.store, kind=EntryKind.REVERSE, source=original.source, points=points,
                source_key=key, actor=actor, at=timezone.now(), invoice=original.invoice, cny_value=value,
                reverses=original, expires_on=expiry, note=note, prefer_lot=original if original.points > 0 else None,
            )
            _record(actor, reversal, "points.reversed")
            return reversal

    reversal, _created = _idempotent(key, write)
    return reversal


# ---- money given back (billing's refunds and credit notes) ------------------------------------------------------
def _round(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_HALF_UP))


def points_return_for_refund(*, refund: Any, actor: Any = None) -> PointsEntry | None:
    """A refund of a payment made with points gives points back, never cash: the share of the points spent that the
    refund is of the payment (a whole refund, or refunds adding up to it, give back exactly all), to a lot with the
    earliest expiry of the lots they came from. Once per refund (``refund:<id>``).

    Billing calls this inside the refund's transaction, after updating the payment's ``refunded_amount``: a refusal
    here refunds nothing. The billing permission was checked there.
    """
    payment = refund.payment
    key = payment.idempotency_key.removeprefix("points:")
    redeem = _existing(f"redeem:{key}")
    if redeem is None or redeem.kind != EntryKind.REDEEM or redeem.invoice_id != payment.invoice_id:
        raise Conflict(
            "points_entry_missing", _("The points of this payment are not in the points ledger: ask an administrator."),
            "payment",
        )
    source_key = f"refund:{refund.pk}"
    with transaction.atomic():
        locked = _lock_customer(redeem.customer)
        found = _existing(source_key)
        if found is not None:
            return found
        spent = -redeem.points
        share = min(Decimal(payment.refunded_amount) / Decimal(payment.amount), Decimal(1))
        give = _round(spent * share) - _already_reversed(redeem)
        if give <= 0:  # a manager already reversed the redemption
            return None
        invoice = payment.invoice
        entry = _write(
            locked=locked, store=redeem.store, kind=EntryKind.REVERSE, source=EntrySource.INVOICE, points=give,
            source_key=source_key, actor=actor, at=refund.refunded_at, invoice=invoice, cny_value=q(refund.amount),
            reverses=redeem, expires_on=_earliest_expiry(redeem),
            note=coded(gettext_noop("Refund #%(r)s of points paid on invoice %(n)s: %(why)s"), r=refund.pk, n=invoice.number, why=refund.reason),
        )
        _record(actor, entry, "points.refunded")
    return entry


def voucher_return_for_refund(*, refund: Any, actor: Any = None) -> Voucher:
    """A refunded voucher payment gives the voucher back (a voucher has no cash value): usable again until its own
    last day, or straight to expired when that day has passed. Billing refunds a voucher payment only whole, inside
    the refund's transaction (a refusal here refunds nothing)."""
    payment = refund.payment
    key = payment.idempotency_key.removeprefix("voucher:")
    locked = Voucher.objects.select_for_update().select_related("store").filter(redeem_key=key).first()
    if locked is None and payment.reference:  # the owner's own payment: keyed "voucher:o<customer>:<key>", the code kept
        locked = Voucher.objects.select_for_update().select_related("store").filter(
            code=payment.reference, invoice_id=payment.invoice_id).first()
    if locked is None or locked.status != VoucherStatus.REDEEMED or locked.invoice_id != payment.invoice_id:
        raise Conflict("voucher_not_redeemed", _("The voucher of this payment is not recorded as used on this invoice."), "payment")
    at = refund.refunded_at
    number = payment.invoice.number
    target = VoucherStatus.ISSUED if local_date(locked.store, at) <= locked.valid_until else VoucherStatus.EXPIRED
    move(locked, to=target, actor=_who(actor), transitions=VOUCHER_TRANSITIONS, event_model=VoucherEvent, event_fk="voucher",
         reason=(coded(gettext_noop("Refund #%(r)s on invoice %(n)s"), r=refund.pk, n=number))[:300], labels=VoucherStatus, at=at)
    before = str(locked.discount)
    locked.invoice, locked.discount, locked.redeemed_at, locked.redeem_key = None, None, None, None
    locked.save(update_fields=["invoice", "discount", "redeemed_at", "redeem_key"])
    audit.record(actor=actor, obj=locked, action="voucher.returned", store_id=payment.invoice.store_id,
                 customer_id=locked.customer_id,
                 changes={"status": [VoucherStatus.REDEEMED, target], "discount": [before, None]},
                 reason=f"refund #{refund.pk} {number}", at=at)
    return locked


def _earn_of(invoice: Any) -> PointsEntry | None:
    return PointsEntry.objects.filter(source_key=f"invoice:{invoice.pk}", kind=EntryKind.EARN).first()


def points_take_back(*, refund: Any = None, credit_note: Any = None, actor: Any = None) -> PointsClawback | None:
    """Take back the points an invoice earned in proportion to the money no longer kept, once per refund or credit
    note (a :class:`PointsClawback` row, written also when nothing was due).

    What is due: the earned points × the share by which the invoice's earn base (:func:`invoice_earn_base`) fell
    since it earned, rounded half up, less what earlier refunds and credit notes were due, so that refunds adding up
    to everything take back exactly all. Only what is left in the balance is taken (the entry's note says so; a
    shortfall is never chased later). Nothing before the invoice has earned (its earn then counts what is kept).

    Billing calls this once its refund or credit note has committed; ``clawback_sweep`` repairs what it missed.
    """
    from aftersales.billing.models import Invoice

    if (refund is None) == (credit_note is None):
        raise ValueError("give a refund or a credit note")
    event = refund if refund is not None else credit_note
    invoice_id = refund.payment.invoice_id if refund is not None else credit_note.invoice_id
    lookup = {"refund": refund} if refund is not None else {"credit_note": credit_note}
    found = PointsClawback.objects.filter(**lookup).first()
    if found is not None:
        return found
    invoice = Invoice.objects.select_related("store", "customer").get(pk=invoice_id)
    if _earn_of(invoice) is None:
        return None
    if refund is not None:
        label = _("Refund #%(r)s of invoice %(n)s: %(why)s") % {"r": refund.pk, "n": invoice.number, "why": refund.reason}
        at = refund.refunded_at
    else:
        label = _("Credit note %(c)s of invoice %(n)s: %(why)s") % {"c": credit_note.number, "n": invoice.number,
                                                                       "why": credit_note.reason}
        at = credit_note.issued_at

    def write() -> PointsClawback | None:
        with transaction.atomic():
            locked = _lock_customer(invoice.customer)
            again = PointsClawback.objects.filter(**lookup).first()
            if again is not None:
                return again
            fresh = Invoice.objects.get(pk=invoice.pk)
            earn = _earn_of(fresh)
            if earn is None:
                return None
            earned = earn.points
            base = Decimal(earn.cny_value) if earn.cny_value is not None else _legacy_base(fresh)
            kept = min(invoice_earn_base(fresh), base)
            if _existing(f"reverse:{earn.pk}") is not None or base <= 0:
                due = 0  # a manager reversed the whole earn already
            else:
                target = _round(Decimal(earned) * (base - kept) / base)
                owed = int(PointsClawback.objects.filter(invoice_id=fresh.pk).aggregate(s=Sum("due"))["s"] or 0)
                due = max(min(target, earned) - owed, 0)
            taken = min(due, _ledger_balance(locked.pk))
            entry = None
            if taken > 0:
                note = label
                if taken < due:
                    note = f"{note} ({_('only %(n)s points were left to take back') % {'n': taken}})"
                entry = _write(
                    locked=locked, store=earn.store, kind=EntryKind.REVERSE, source=EntrySource.PURCHASE, points=-taken,
                    source_key=f"clawback:{'refund' if refund is not None else 'credit_note'}:{event.pk}", actor=actor,
                    at=at, invoice=fresh, reverses=earn, prefer_lot=earn, note=note,
                )
                _record(actor, entry, "points.reversed")
            clawback = PointsClawback.objects.create(invoice=fresh, due=due, taken=taken, entry=entry, at=at, **lookup)
            audit.record(
                actor=actor, obj=clawback, action="points.taken_back", store_id=fresh.store_id, customer_id=locked.pk,
                changes={"points_taken_back": [0, taken], "points_due_back": [0, due]}, reason=label, at=at,
            )
            return clawback

    try:
        return write()
    except IntegrityError:
        found = PointsClawback.objects.filter(**lookup).first()
        if found is not None:
            return found
        raise


def _legacy_base(invoice: Any) -> Decimal:
    """The base of an earn written before earns recorded it: what was paid less what was paid with points."""
    spent, _back = _points_paid(invoice.pk)
    return max(Decimal(invoice.paid_amount or 0) - spent, ZERO)


def points_expire_customer(*, customer: Any, today: dt.date | None = None) -> list[PointsEntry]:
    """Write one expiry entry per lot of this customer past its expiry date (store-local), for what is left of it."""
    written: list[PointsEntry] = []
    with transaction.atomic():
        locked = _lock_customer(customer)
        lots = list(
            PointsEntry.objects.select_for_update().select_related("store")
            .filter(customer_id=locked.pk, remaining__gt=0, expires_on__isnull=False).order_by("expires_on", "id")
        )
        for lot in lots:
            day = today or local_date(lot.store)
            if lot.expires_on is None or lot.expires_on >= day:
                continue
            entry = _write(
                locked=locked, store=lot.store, kind=EntryKind.EXPIRE, source=EntrySource.EXPIRY, points=-lot.remaining,
                source_key=f"expire:{lot.pk}", actor=None, at=timezone.now(), prefer_lot=lot,
                note=coded(gettext_noop("Points earned %(d)s expired on %(e)s"), d=timezone.localtime(lot.at, lot.store.zone).date(), e=lot.expires_on),
            )
            _record(None, entry, "points.expired")
            written.append(entry)
    return written


def expiry_sweep(*, today: dt.date | None = None, limit: int = 5000) -> int:
    """Expire every lot past its date (periodic; safe to run twice: an expired lot has nothing remaining)."""
    cutoff = today or (timezone.now().date() + dt.timedelta(days=1))  # store-local check happens per lot
    customer_ids = list(
        PointsEntry.objects.filter(remaining__gt=0, expires_on__lt=cutoff).values_list("customer_id", flat=True).distinct()[:limit]
    )
    count = 0
    for customer_id in customer_ids:
        count += len(points_expire_customer(customer=Customer(pk=customer_id), today=today))
    return count


EARN_SWEEP_DAYS = 30


def earn_sweep(*, limit: int = 2000, days: int = EARN_SWEEP_DAYS) -> int:
    """Paid invoices of the last ``days`` that have not earned yet (whatever billing did), and pending referrals
    whose new customer has paid. Invoices paid before that window (history from before loyalty) earn nothing."""
    from aftersales.billing.models import Invoice

    earned = PointsEntry.objects.filter(kind=EntryKind.EARN, source=EntrySource.PURCHASE, invoice__isnull=False).values("invoice_id")
    since = timezone.now() - dt.timedelta(days=days)
    missing = list(
        Invoice.objects.filter(status="paid", paid_at__gte=since).exclude(pk__in=earned)
        .exclude(bill_to="insurer")  # an insurer's payment earns the customer nothing
        .order_by("paid_at", "id")[:limit]
    )
    count = 0
    for invoice in missing:
        if points_earn_for_invoice(invoice=invoice) is not None:
            count += 1
    for referred_id in Referral.objects.filter(status=ReferralStatus.PENDING).values_list("referred_id", flat=True)[:limit]:
        first = (Invoice.objects.filter(customer_id=referred_id, status="paid").exclude(bill_to="insurer")
                 .order_by("paid_at", "id").first())
        if first is not None:
            with transaction.atomic():
                _qualify_referral(customer=_lock_customer(Customer(pk=referred_id)), invoice=first, actor=None)
    return count


def clawback_sweep(*, limit: int = 2000, days: int = EARN_SWEEP_DAYS) -> int:
    """Refunds and credit notes of the last ``days`` on invoices that earned points and that have not been handled
    yet (billing's after-commit call failed or never ran): take back what they owe, oldest first. Idempotent."""
    from aftersales.billing.models import CreditNote, Refund

    since = timezone.now() - dt.timedelta(days=days)
    earned = PointsEntry.objects.filter(kind=EntryKind.EARN, source=EntrySource.PURCHASE, invoice__isnull=False).values("invoice_id")
    refunds = Refund.objects.filter(refunded_at__gte=since, points_clawback__isnull=True, payment__invoice_id__in=earned)
    notes = CreditNote.objects.filter(issued_at__gte=since, points_clawback__isnull=True, invoice_id__in=earned)
    events: list[tuple[dt.datetime, int, Any]] = [(r.refunded_at, 0, r) for r in refunds.select_related("payment")[:limit]]
    events += [(n.issued_at, 1, n) for n in notes[:limit]]
    count = 0
    for _at, kind, event in sorted(events, key=lambda e: (e[0], e[1], e[2].pk))[:limit]:
        try:
            done = points_take_back(refund=event) if kind == 0 else points_take_back(credit_note=event)
        except Exception:  # one bad row must not stop the others; it is logged and tried again next run
            log.exception("taking back points for %s %s failed", "refund" if kind == 0 else "credit note", event.pk)
            continue
        if done is not None:
            count += 1
    return count


def ledger_check(*, repair: bool = False) -> list[dict[str, Any]]:
    """Customers whose ``points_balance`` differs from the ledger (or whose lots do not add up); fixed with ``repair``."""
    rows = []
    last_ids = PointsEntry.objects.values("customer_id").annotate(m=Max("id")).values_list("m", flat=True)
    ledger = dict(PointsEntry.objects.filter(pk__in=list(last_ids)).values_list("customer_id", "balance_after"))
    lots = dict(
        PointsEntry.objects.filter(remaining__gt=0).values("customer_id").annotate(s=Sum("remaining")).values_list("customer_id", "s")
    )
    stored = dict(Customer.objects.exclude(points_balance=0).values_list("pk", "points_balance"))
    for customer_id in sorted(set(ledger) | set(stored)):
        want = int(ledger.get(customer_id, 0))
        have = int(stored.get(customer_id, 0))
        open_lots = int(lots.get(customer_id, 0))
        if want != have or open_lots != want:
            rows.append({"customer_id": customer_id, "ledger": want, "customer": have, "lots": open_lots})
            if repair and want != have:
                Customer.objects.filter(pk=customer_id).update(points_balance=want)
    return rows


# ---- vouchers --------------------------------------------------------------------------------------------------
def _new_code() -> str:
    return "V" + "".join(secrets.choice(CODE_ALPHABET) for _ in range(9))


def voucher_issue(
    *, actor: Any, customer: Any, store: Any, template: VoucherTemplate, reason: str, at: dt.datetime | None = None,
    notify: bool = True,
) -> Voucher:
    """Give ``customer`` a voucher of ``template`` at ``store``: a unique code, valid from today for the template's
    number of days (store-local dates), within the template's per-customer limit. With ``notify`` the customer is
    told through the outbox (kind ``loyalty.voucher_issued``, marketing: only with consent, outside quiet hours);
    a caller that sends its own message about the voucher passes ``notify=False``."""
    _check_store(actor, "loyalty.add_voucher", store)
    _same_group(customer, store)
    if template.group_id != store.group_id or (template.store_id and template.store_id != store.pk):
        raise ValidationFailed("template_not_for_store", _("This voucher is not offered at this store."), "template")
    if not template.is_active:
        raise ValidationFailed("template_inactive", _("This voucher is no longer offered."), "template")
    at = at or timezone.now()
    valid_from = local_date(store, at)
    with transaction.atomic():
        locked = _lock_customer(customer)
        if template.per_customer_limit:
            held = Voucher.objects.filter(template=template, customer=locked).exclude(status=VoucherStatus.CANCELLED).count()
            if held >= template.per_customer_limit:
                raise Conflict(
                    "voucher_limit_reached",
                    _("This customer already has %(n)s of this voucher (the limit).") % {"n": held},
                    "template",
                )
        for attempt in range(5):
            try:
                with transaction.atomic():
                    voucher = Voucher.objects.create(
                        template=template, customer=locked, store=store, code=_new_code(), valid_from=valid_from,
                        valid_until=valid_from + dt.timedelta(days=template.validity_days - 1), reason=(reason or "")[:200],
                        issued_at=at, issued_by=_who(actor),
                    )
                break
            except IntegrityError:
                if attempt == 4:
                    raise
        VoucherEvent.objects.create(voucher=voucher, from_state="", to_state=VoucherStatus.ISSUED, actor=_who(actor),
                                    reason=voucher.reason, at=at)
        audit.record(actor=actor, obj=voucher, action="voucher.issued", store_id=store.pk, customer_id=locked.pk,
                     changes={"template": [None, template.code]}, reason=voucher.reason, at=at)
        if notify:
            _notify_voucher(voucher, locked, store, template)
    return voucher


def _notify_voucher(voucher: Voucher, customer: Customer, store: Any, template: VoucherTemplate) -> None:
    from aftersales.messaging.services import customer_variables, message_enqueue

    if voucher.valid_until < timezone.localdate(timezone.now(), store.zone):
        return  # never text a customer a voucher that has already expired (a voucher recorded after the fact)
    english = (customer.language or "").startswith("en")
    message_enqueue(
        kind=VOUCHER_MESSAGE_KIND[0], store=store, customer=customer, dedup_key=f"{VOUCHER_MESSAGE_KIND[0]}:{voucher.pk}",
        variables={
            **customer_variables(customer=customer, store=store),
            "voucher_name": (template.name_en if english and template.name_en else template.name_zh),
            "voucher_code": voucher.code, "valid_until": voucher.valid_until.isoformat(),
        },
    )


def voucher_discount(*, voucher: Voucher, invoice: Any) -> Decimal:
    """The discount ``voucher`` gives on ``invoice`` (checks coverage; not validity or state). Refuses when nothing
    on the invoice is covered or the minimum spend is not reached."""
    template = voucher.template
    lines = list(invoice.order.lines.select_related("job").all()) if getattr(invoice, "order_id", None) else []
    job_types = set(template.job_types or [])
    codes = {c.strip().upper() for c in (template.service_codes or []) if c.strip()}
    covered = [
        line for line in lines
        if (not job_types or line.job.job_type in job_types)
        and (not codes or (line.code or "").strip().upper() in codes)
    ]
    if template.kind == VoucherKind.PERCENT_LABOUR:
        covered = [line for line in covered if line.kind == "labour"]
    elif template.kind == VoucherKind.PERCENT_PARTS:
        covered = [line for line in covered if line.kind == "part"]
    base = q(sum((Decimal(line.amount) for line in covered), ZERO))
    if not covered or base <= 0:
        raise ValidationFailed("voucher_not_covered", _("Nothing on this invoice is covered by this voucher."), "voucher")
    if Decimal(invoice.total) < template.min_spend:
        raise ValidationFailed(
            "voucher_min_spend", _("This voucher needs a spend of at least %(n)s.") % {"n": template.min_spend}, "voucher",
        )
    if template.kind == VoucherKind.AMOUNT_OFF:
        discount = min(template.amount, base)
    elif template.kind in (VoucherKind.PERCENT_LABOUR, VoucherKind.PERCENT_PARTS):
        discount = q(base * template.percent / Decimal(100))
    else:  # free service item: the covered lines cost nothing
        discount = base
    if template.max_discount is not None:
        discount = min(discount, template.max_discount)
    return q(min(discount, Decimal(invoice.total)))


def voucher_check(*, voucher: Voucher, invoice: Any, today: dt.date | None = None) -> Decimal:
    """Everything ``voucher_redeem`` checks, without writing: the discount, or a DomainError saying why not."""
    if voucher.customer_id != invoice.customer_id:
        raise ValidationFailed("voucher_other_customer", _("This voucher belongs to another customer."), "voucher")
    template = voucher.template
    if template.store_id and template.store_id != invoice.store_id:
        raise ValidationFailed("voucher_other_store", _("This voucher is not valid at this store."), "voucher")
    if voucher.status == VoucherStatus.REDEEMED:
        raise Conflict("voucher_used", _("This voucher has already been used."), "voucher")
    if voucher.status == VoucherStatus.CANCELLED:
        raise Conflict("voucher_cancelled", _("This voucher has been cancelled."), "voucher")
    day = today or local_date(invoice.store)
    if voucher.status == VoucherStatus.EXPIRED or day > voucher.valid_until:
        raise ValidationFailed(
            "voucher_expired", _("This voucher expired on %(d)s.") % {"d": voucher.valid_until.isoformat()}, "voucher",
        )
    if day < voucher.valid_from:
        raise ValidationFailed(
            "voucher_not_yet_valid", _("This voucher is valid from %(d)s.") % {"d": voucher.valid_from.isoformat()}, "voucher",
        )
    if not invoice_is_open(invoice):
        raise Conflict("invoice_not_open", _("This invoice is not open for payment."), "invoice")
    return voucher_discount(voucher=voucher, invoice=invoice)


def voucher_redeem(*, actor: Any, voucher: Voucher, invoice: Any, idempotency_key: str, owner: Any = None) -> Decimal:
    """Use ``voucher`` on ``invoice`` once and return the discount (billing takes it off the invoice).

    Under the voucher's row lock: of two concurrent redemptions exactly one wins, the other gets ``voucher_used``.
    The same idempotency key returns the first discount again. ``owner``: the owner app's path (their own voucher on
    their own invoice, no staff permission; the key namespaced by the customer).
    """
    from aftersales.billing.models import Invoice

    if owner is not None:
        _check_owner(owner, voucher.customer_id)
        _check_owner(owner, invoice.customer_id)
        key = f"owner{owner.pk}:{_key(idempotency_key)}"
    else:
        _check_store(actor, "loyalty.change_voucher", invoice.store)
        key = _key(idempotency_key)
    done = Voucher.objects.filter(redeem_key=key).first()
    if done is not None:
        return Decimal(done.discount or 0)
    invoice = Invoice.objects.select_related("store", "order").get(pk=invoice.pk)
    try:
        with transaction.atomic():
            locked = Voucher.objects.select_for_update().select_related("template").get(pk=voucher.pk)
            if locked.redeem_key == key:
                return Decimal(locked.discount or 0)
            discount = voucher_check(voucher=locked, invoice=invoice)
            now = timezone.now()
            locked.invoice = invoice
            locked.discount = discount
            locked.redeemed_at = now
            locked.redeem_key = key
            locked.save(update_fields=["invoice", "discount", "redeemed_at", "redeem_key"])
            move(locked, to=VoucherStatus.REDEEMED, actor=_who(actor), transitions=VOUCHER_TRANSITIONS,
                 event_model=VoucherEvent, event_fk="voucher", reason=invoice.number, labels=VoucherStatus, at=now)
            audit.record(actor=actor, obj=locked, action="voucher.redeemed", store_id=invoice.store_id,
                         customer_id=locked.customer_id, changes={"status": [VoucherStatus.ISSUED, VoucherStatus.REDEEMED],
                                                                  "discount": [None, str(discount)]},
                         reason=invoice.number + (" (owner app)" if owner is not None else ""))
    except IntegrityError:
        done = Voucher.objects.filter(redeem_key=key).first()
        if done is not None:
            return Decimal(done.discount or 0)
        raise
    return discount


#: a voucher used on a courtesy-car booking has no invoice: its redeem key names the booking instead
COURTESY_KEY = "courtesy:"


def voucher_redeem_on_courtesy(*, actor: Any, voucher: Voucher, booking_id: int, store: Any, service_code: str,
                               at: dt.datetime | None = None) -> Voucher:
    """Use a courtesy-car voucher (a free service item covering ``service_code``) on courtesy booking
    ``booking_id``: the contract is the receipt, there is no invoice line to take it off. Called inside the
    booking's transaction. Under the voucher's row lock: of two bookings racing for one voucher exactly one gets
    it, the other is refused with ``voucher_used`` (and its booking rolls back)."""
    at = at or timezone.now()
    locked = Voucher.objects.select_for_update().select_related("template").get(pk=voucher.pk)
    template = locked.template
    if template.kind != VoucherKind.FREE_ITEM or service_code not in (template.service_codes or []) or (
            template.store_id and template.store_id != store.pk):
        raise ValidationFailed("voucher_not_covered", _("This voucher does not cover a courtesy car."), "voucher")
    today = local_date(store, at)
    if locked.status != VoucherStatus.ISSUED or not locked.valid_from <= today <= locked.valid_until:
        raise Conflict("voucher_used", _("This voucher is used, cancelled or not valid today."), "voucher")
    locked.redeemed_at, locked.redeem_key, locked.discount = at, f"{COURTESY_KEY}{booking_id}", ZERO
    locked.save(update_fields=["redeemed_at", "redeem_key", "discount"])
    move(locked, to=VoucherStatus.REDEEMED, actor=_who(actor), transitions=VOUCHER_TRANSITIONS, event_model=VoucherEvent,
         event_fk="voucher", reason=coded(gettext_noop("Courtesy car booking #%(b)s"), b=booking_id),
         labels=VoucherStatus, at=at)
    audit.record(actor=actor, obj=locked, action="voucher.redeemed", store_id=store.pk, customer_id=locked.customer_id,
                 changes={"status": [VoucherStatus.ISSUED, VoucherStatus.REDEEMED]}, reason=f"courtesy booking #{booking_id}", at=at)
    return locked


def voucher_return_from_courtesy(*, actor: Any, booking_id: int, store: Any, at: dt.datetime | None = None) -> Voucher | None:
    """A cancelled courtesy booking gives its voucher back: usable again until its own last day, or straight to
    expired when that day has passed. Called inside the cancellation's transaction; None when it used no voucher."""
    at = at or timezone.now()
    locked = Voucher.objects.select_for_update().filter(redeem_key=f"{COURTESY_KEY}{booking_id}").first()
    if locked is None or locked.status != VoucherStatus.REDEEMED:
        return None
    target = VoucherStatus.ISSUED if local_date(store, at) <= locked.valid_until else VoucherStatus.EXPIRED
    move(locked, to=target, actor=_who(actor), transitions=VOUCHER_TRANSITIONS, event_model=VoucherEvent, event_fk="voucher",
         reason=coded(gettext_noop("Courtesy car booking #%(b)s cancelled"), b=booking_id), labels=VoucherStatus, at=at)
    locked.discount, locked.redeemed_at, locked.redeem_key = None, None, None
    locked.save(update_fields=["discount", "redeemed_at", "redeem_key"])
    audit.record(actor=actor, obj=locked, action="voucher.returned", store_id=store.pk, customer_id=locked.customer_id,
                 changes={"status": [VoucherStatus.REDEEMED, target]}, reason=f"courtesy booking #{booking_id}", at=at)
    return locked


def voucher_cancel(*, actor: Any, voucher: Voucher, reason: str) -> Voucher:
    _check_store(actor, "loyalty.change_voucher", voucher.store)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("reason_required", _("Give a reason."), "reason")
    with transaction.atomic():
        locked = Voucher.objects.select_for_update().get(pk=voucher.pk)
        move(locked, to=VoucherStatus.CANCELLED, actor=_who(actor), transitions=VOUCHER_TRANSITIONS,
             event_model=VoucherEvent, event_fk="voucher", reason=reason[:300], labels=VoucherStatus)
        audit.record(actor=actor, obj=locked, action="voucher.cancelled", store_id=locked.store_id,
                     customer_id=locked.customer_id, reason=reason)
    return locked


def voucher_expire_sweep(*, today: dt.date | None = None) -> int:
    """Mark vouchers past their last day as expired (periodic; redemption checks the date anyway)."""
    cutoff = today or timezone.now().date()
    count = 0
    for pk in Voucher.objects.filter(status=VoucherStatus.ISSUED, valid_until__lt=cutoff).values_list("pk", flat=True)[:5000]:
        with transaction.atomic():
            locked = Voucher.objects.select_for_update().select_related("store").get(pk=pk)
            day = today or local_date(locked.store)
            if locked.status != VoucherStatus.ISSUED or locked.valid_until >= day:
                continue
            move(locked, to=VoucherStatus.EXPIRED, actor=None, transitions=VOUCHER_TRANSITIONS, event_model=VoucherEvent,
                 event_fk="voucher", reason="", labels=VoucherStatus)
            count += 1
    return count


# ---- referrals -------------------------------------------------------------------------------------------------
def referral_create(
    *, actor: Any, referrer: Any, referred: Any, store: Any, staff: Any = None, at: dt.datetime | None = None,
) -> Referral:
    """Record that ``referred`` (a new customer) came through ``referrer``, brought in by ``staff`` (default: actor).

    ``at`` records a referral made earlier (history): the customer must have had no paid visit before then."""
    _check_store(actor, "loyalty.add_referral", store)
    _same_group(referrer, store)
    _same_group(referred, store)
    if referrer.pk == referred.pk:
        raise ValidationFailed("referral_self", _("A customer cannot refer themselves."), "referrer")
    if Referral.objects.filter(referred=referred).exists() or Referral.objects.filter(referrer=referred, referred=referrer).exists():
        raise Conflict("already_referred", _("This customer has already been referred by someone."), "referred")
    from aftersales.billing.models import Invoice

    at = at or timezone.now()
    if Invoice.objects.filter(customer=referred, status="paid", paid_at__lt=at).exists():
        raise ValidationFailed("not_a_new_customer", _("Only a new customer (no paid visit yet) can be referred."), "referred")
    staff = staff if staff is not None else _who(actor)
    if staff is not None and store.pk not in set(staff.memberships.values_list("store_id", flat=True)):
        raise ValidationFailed("staff_not_at_store", _("This staff member does not work at this store."), "staff")
    try:
        with transaction.atomic():
            referral = Referral.objects.create(group_id=store.group_id, referrer=referrer, referred=referred, staff=staff, store=store,
                                               created_at=at)
            ReferralEvent.objects.create(referral=referral, from_state="", to_state=ReferralStatus.PENDING, actor=_who(actor),
                                         at=referral.created_at)
            audit.record(actor=actor, obj=referral, action="referral.created", store_id=store.pk, customer_id=referred.pk,
                         changes={"referrer": [None, referrer.pk], "staff": [None, getattr(staff, "pk", None)]}, at=at)
    except IntegrityError as exc:
        raise Conflict("already_referred", _("This customer has already been referred by someone."), "referred") from exc
    return referral


def _qualify_referral(*, customer: Customer, invoice: Any, actor: Any) -> Referral | None:
    """The referred customer's first paid visit: pending → qualified → rewarded (points to the referrer).

    Runs inside the caller's transaction with the referred customer locked."""
    referral = Referral.objects.select_for_update().filter(referred_id=customer.pk, status=ReferralStatus.PENDING).first()
    if referral is None:
        return None
    now = invoice.paid_at or timezone.now()
    referral.qualified_at = now
    referral.invoice = invoice
    referral.save(update_fields=["qualified_at", "invoice"])
    move(referral, to=ReferralStatus.QUALIFIED, actor=_who(actor), transitions=REFERRAL_TRANSITIONS,
         event_model=ReferralEvent, event_fk="referral", reason=invoice.number, labels=ReferralStatus, at=now)
    store = referral.store
    points = loyalty_settings(store).referral_points
    if points > 0:
        referrer = _lock_customer(referral.referrer)
        entry = _write(locked=referrer, store=store, kind=EntryKind.EARN, source=EntrySource.REFERRAL, points=points,
                       source_key=f"referral:{referral.pk}", actor=actor, at=now,
                       note=coded(gettext_noop("Referred %(name)s"), name=customer.name))
        _record(actor, entry, "points.earned")
        referral.reward_entry = entry
        referral.save(update_fields=["reward_entry"])
    move(referral, to=ReferralStatus.REWARDED, actor=_who(actor), transitions=REFERRAL_TRANSITIONS,
         event_model=ReferralEvent, event_fk="referral", reason="", labels=ReferralStatus, at=now)
    audit.record(actor=actor, obj=referral, action="referral.rewarded", store_id=store.pk, customer_id=referral.referrer_id,
                 changes={"status": [ReferralStatus.PENDING, ReferralStatus.REWARDED]}, at=now)
    return referral
