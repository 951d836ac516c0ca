"""Writes for customers: each service validates, writes in one transaction and records its audit event."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from aftersales.common import audit, events
from aftersales.common.errors import Conflict, Problems, ValidationFailed
from aftersales.common.permissions import require, require_store
from aftersales.common.readtime import coded
from aftersales.common.validators import mobile_digits, normalize_email, normalize_mobile, not_in_future, parse_date

from .choices import Channel, ConsentPurpose, ConsentSource, ProgressFrequency, ReminderFrequency, Title
from .models import Consent, Customer, CustomerStore

AUDITED_FIELDS = (
    "name", "title", "mobile", "email", "address", "birthday", "preferred_channel", "preferred_advisor",
    "home_store", "preferences", "notes", "reminder_frequency", "progress_frequency",
)  # fmt: skip


def _choice(value: Any, choices: Any, field: str) -> str:
    value = "" if value is None else str(value)
    if value not in choices.values:
        raise ValidationFailed("invalid_choice", _("“%(v)s” is not a valid choice.") % {"v": value}, field)
    return value


def _clean(data: dict[str, Any], actor: Any) -> dict[str, Any]:
    """Validate the editable fields present in ``data``; return them normalised. Every bad field is named at once."""
    problems = Problems()
    out: dict[str, Any] = {}
    if "name" in data:
        name = " ".join(str(data["name"] or "").split())
        if not name:
            problems.add("name_required", _("Name is required."), "name")
        elif len(name) > 60:
            problems.add("name_too_long", _("Name is at most 60 characters."), "name")
        else:
            out["name"] = name
    if "title" in data:
        with problems.field():
            out["title"] = _choice(data["title"] or "", Title, "title")
    if "mobile" in data:
        with problems.field():
            out["mobile"] = normalize_mobile(data["mobile"] or "", "mobile")
            out["mobile_digits"] = mobile_digits(out["mobile"])
    if "email" in data:
        with problems.field():
            out["email"] = normalize_email(data["email"] or "", "email")
    if "address" in data:
        out["address"] = str(data["address"] or "").strip()[:300]
    if "birthday" in data:
        with problems.field():
            birthday = parse_date(data["birthday"], "birthday")
            out["birthday"] = not_in_future(birthday, "birthday", _("Birthday"))
            if birthday and birthday < dt.date(1900, 1, 1):
                raise ValidationFailed("date_too_early", _("Birthday is implausibly early."), "birthday")
    if "preferred_channel" in data:
        with problems.field():
            out["preferred_channel"] = _choice(data["preferred_channel"] or Channel.SMS, Channel, "preferred_channel")
    for key, choices in (("reminder_frequency", ReminderFrequency), ("progress_frequency", ProgressFrequency)):
        if key in data:
            with problems.field():
                out[key] = _choice(data[key] or choices.values[0], choices, key)
    if "preferred_advisor" in data:
        advisor = data["preferred_advisor"]
        if advisor is not None:
            from aftersales.staff.selectors import staff_visible_to

            advisor_id = getattr(advisor, "pk", advisor)
            advisor = staff_visible_to(actor).filter(pk=advisor_id).first()
            if advisor is None:
                problems.add("advisor_unknown", _("Unknown advisor."), "preferred_advisor")
        out["preferred_advisor"] = advisor
    for key, limit in (("preferences", 300), ("notes", 5000)):
        if key in data:
            out[key] = str(data[key] or "").strip()[:limit]
    problems.raise_if_any()
    return out


def _raise_duplicate(group_id: int, mobile: str) -> None:
    existing = Customer.objects.filter(group_id=group_id, mobile=mobile).values_list("id", flat=True).first()
    if existing is not None:
        raise Conflict(
            "duplicate_mobile",
            _("A customer with this mobile number already exists in the dealer group."),
            "mobile",
            existing_id=existing,
        )


def customer_check(*, actor: Any, **data: Any) -> None:
    """The checks of ``customer_create``/``customer_update`` on the fields given, writing nothing (a form whose own
    checks failed shows these problems at the same time: ``DomainForm.check_rest``)."""
    _clean({k: v for k, v in data.items() if k in AUDITED_FIELDS and k != "home_store"}, actor)


def customer_create(
    *, actor: Any, store: Any, consents: list[dict[str, Any]] | None = None, reason: str = "", **data: Any
) -> Customer:
    require(actor, "customers.add_customer")
    require_store(actor, getattr(store, "pk", None))
    data.setdefault("name", "")
    data.setdefault("mobile", "")
    fields = _clean(data, actor)
    _raise_duplicate(store.group_id, fields["mobile"])
    try:
        with transaction.atomic():
            customer = Customer.objects.create(group_id=store.group_id, home_store=store, **fields)
            CustomerStore.objects.create(customer=customer, store=store)
            audit.record(
                actor=actor, obj=customer, action="customer.created", store_id=store.pk, customer_id=customer.pk,
                changes=audit.diff({}, audit.snapshot(customer, AUDITED_FIELDS)), reason=reason,
            )
            for consent in consents or []:
                consent_record(actor=actor, customer=customer, **consent)
    except IntegrityError:
        # Lost a race with a concurrent create of the same mobile: one record, a clear conflict.
        _raise_duplicate(store.group_id, fields["mobile"])
        raise
    return customer


def customer_update(*, actor: Any, customer: Customer, reason: str = "", **data: Any) -> Customer:
    require(actor, "customers.change_customer")
    fields = _clean(data, actor)
    if "mobile" in fields and fields["mobile"] != customer.mobile:
        _raise_duplicate(customer.group_id, fields["mobile"])
    try:
        with transaction.atomic():
            locked, changes = audit.update_locked(Customer, customer.pk, fields, AUDITED_FIELDS)
            if changes:
                audit.record(
                    actor=actor, obj=locked, action="customer.updated", store_id=locked.home_store_id,
                    customer_id=locked.pk, changes=changes, reason=reason,
                )
    except IntegrityError:
        _raise_duplicate(customer.group_id, fields.get("mobile", ""))
        raise
    return locked


def customer_attach_store(*, actor: Any, store: Any, mobile: str) -> Customer:
    """Make an existing group customer known at ``store`` (the mobile number is the proof of identity)."""
    require(actor, "customers.add_customer")
    require_store(actor, getattr(store, "pk", None))
    e164 = normalize_mobile(mobile, "mobile")
    with transaction.atomic():
        customer = Customer.objects.filter(group_id=store.group_id, mobile=e164).first()
        if customer is None:
            raise ValidationFailed("customer_not_found", _("No customer in the group has this mobile number."), "mobile")
        _link, created = CustomerStore.objects.get_or_create(customer=customer, store=store)
        if created:
            audit.record(
                actor=actor, obj=customer, action="customer.store_linked", store_id=store.pk, customer_id=customer.pk,
                changes={"stores": [None, store.pk]},
            )
    return customer


ATTACH_CODE_TTL = dt.timedelta(minutes=15)
ATTACH_MAX_ATTEMPTS = 3
_ATTACH_SALT = "aftersales.customers.attach-code"


def _attach_hash(request_id: int, code: str) -> str:
    from django.utils.crypto import salted_hmac

    return salted_hmac(_ATTACH_SALT, f"{request_id}|{code}", algorithm="sha256").hexdigest()


def customer_attach_request(*, actor: Any, store: Any, mobile: str, now: dt.datetime | None = None) -> Any:
    """Another store asks to know a group customer: a 6-digit code is texted to the customer (who tells it to the
    advisor in front of them), or a manager approves. Returns the request; nothing of the customer is visible yet.
    A customer already known at the store needs no request: returns ``None``."""
    import secrets

    from .models import AttachRequest

    require(actor, "customers.add_customer")
    require_store(actor, getattr(store, "pk", None))
    now = now or timezone.now()
    e164 = normalize_mobile(mobile, "mobile")
    customer = Customer.objects.filter(group_id=store.group_id, mobile=e164, anonymised_at__isnull=True).first()
    if customer is None:
        raise ValidationFailed("customer_not_found", _("No customer in the group has this mobile number."), "mobile")
    if CustomerStore.objects.filter(customer=customer, store=store).exists():
        return None
    code = f"{secrets.randbelow(10**6):06d}"
    with transaction.atomic():
        AttachRequest.objects.filter(customer=customer, store=store, confirmed_at__isnull=True).update(expires_at=now)
        request = AttachRequest.objects.create(customer=customer, store=store, requested_by=actor, code_hash="",
                                               created_at=now, expires_at=now + ATTACH_CODE_TTL)
        request.code_hash = _attach_hash(request.pk, code)
        request.save(update_fields=["code_hash"])
        audit.record(actor=actor, obj=customer, action="customer.attach_requested", store_id=store.pk,
                     customer_id=customer.pk)
        # messaging (a layer up) texts the code once this commits: a domain event, handled in the process
        events.publish(events.AttachCodeIssued(
            request_id=request.pk, customer_id=customer.pk, store_id=store.pk, code=code,
            minutes=int(ATTACH_CODE_TTL.total_seconds() // 60),
        ))
    return request


def attach_request_get(actor: Any, pk: int) -> Any:
    """A pending request of one of the actor's stores (404 otherwise)."""
    from aftersales.common.scoping import get_or_404, visible_store_ids

    from .models import AttachRequest

    return get_or_404(AttachRequest.objects.filter(store_id__in=visible_store_ids(actor)).select_related("store", "customer"),
                      pk=pk)


def _attach_link(request: Any, actor: Any, method: str, now: dt.datetime, reason: str = "") -> Customer:
    request.confirmed_at, request.method = now, method
    if method == "manager":
        request.approved_by, request.reason = actor, reason[:200]
    request.save(update_fields=["confirmed_at", "method", "approved_by", "reason", "attempts"])
    _link, created = CustomerStore.objects.get_or_create(customer=request.customer, store=request.store)
    if created:
        audit.record(
            actor=actor, obj=request.customer, action="customer.store_linked", store_id=request.store_id,
            customer_id=request.customer_id, changes={"stores": [None, request.store_id]},
            reason=f"{method}: {reason}"[:300] if reason else method,
        )
    return request.customer


def customer_attach_confirm(*, actor: Any, request: Any, code: str, now: dt.datetime | None = None) -> Customer:
    """The customer told the advisor the code: the store now knows them. Three wrong codes spend it."""
    from .models import AttachRequest

    require(actor, "customers.add_customer")
    require_store(actor, request.store_id)
    now = now or timezone.now()
    digits = (code or "").strip()
    if not (len(digits) == 6 and digits.isdigit()):
        raise ValidationFailed("code_format", _("Enter the 6-digit code the customer received."), "code")
    wrong = ValidationFailed("code_wrong", _("This code is wrong or has expired. Send a new code."), "code")
    from django.utils.crypto import constant_time_compare

    with transaction.atomic():
        locked = AttachRequest.objects.select_for_update().select_related("customer", "store").get(pk=request.pk)
        if locked.confirmed_at is not None:
            return locked.customer
        if locked.expires_at <= now or locked.attempts >= ATTACH_MAX_ATTEMPTS:
            raise wrong
        if not constant_time_compare(locked.code_hash, _attach_hash(locked.pk, digits)):
            locked.attempts += 1
            locked.save(update_fields=["attempts"])
            failed = True
        else:
            failed = False
            customer = _attach_link(locked, actor, "code", now)
    if failed:  # the wrong attempt is committed before the refusal
        raise wrong
    return customer


def customer_attach_approve(*, actor: Any, request: Any, reason: str, now: dt.datetime | None = None) -> Customer:
    """A manager makes the customer known at the store without their code (e.g. they phoned in), with a reason."""
    from .models import AttachRequest

    require(actor, "customers.approve_attach")
    require_store(actor, request.store_id)
    if not (reason or "").strip():
        raise ValidationFailed("reason_required", _("Say why the customer's code is not needed."), "reason")
    with transaction.atomic():
        locked = AttachRequest.objects.select_for_update().select_related("customer", "store").get(pk=request.pk)
        if locked.confirmed_at is not None:
            return locked.customer
        return _attach_link(locked, actor, "manager", now or timezone.now(), reason.strip())


def customer_link_store(*, customer: Customer, store_id: int) -> None:
    """Called by other apps' services when a customer visits a store (no audit: the visit is the record)."""
    CustomerStore.objects.get_or_create(customer=customer, store_id=store_id)


def consent_record(
    *,
    actor: Any,
    customer: Customer,
    purpose: str,
    channel: str,
    granted: bool,
    source: str,
    at: dt.datetime | None = None,
    note: str = "",
) -> Consent:
    require(actor, "customers.add_consent")
    purpose = _choice(purpose, ConsentPurpose, "purpose")
    channel = _choice(channel, Channel, "channel")
    source = _choice(source, ConsentSource, "source")
    at = at or timezone.now()
    if at > timezone.now() + dt.timedelta(minutes=5):
        raise ValidationFailed("date_in_future", _("A consent cannot be dated in the future."), "at")
    with transaction.atomic():
        consent = Consent.objects.create(
            customer=customer, purpose=purpose, channel=channel, granted=bool(granted), at=at, source=source,
            recorded_by=actor if getattr(actor, "pk", None) else None, note=str(note or "")[:200],
        )
        audit.record(
            actor=actor, obj=customer, action="consent.granted" if granted else "consent.withdrawn",
            store_id=customer.home_store_id, customer_id=customer.pk,
            changes={f"consent.{purpose}.{channel}": [None, bool(granted)]}, reason=f"{source} {note}".strip(),
        )
    return consent


def consent_opt_out(*, customer: Customer, channel: str, note: str = "") -> bool:
    """The customer's own opt-out from marketing on a channel (link or reply keyword). True if it changed anything."""
    from .selectors import current_consents

    with transaction.atomic():
        Customer.objects.select_for_update().filter(pk=customer.pk).first()
        current = current_consents(list(Consent.objects.filter(customer=customer, purpose=ConsentPurpose.MARKETING, channel=channel)))
        latest = current.get((ConsentPurpose.MARKETING, channel))
        if latest is not None and not latest.granted:
            return False
        Consent.objects.create(
            customer=customer, purpose=ConsentPurpose.MARKETING, channel=channel, granted=False, at=timezone.now(),
            source=ConsentSource.OPT_OUT, note=note[:200],
        )
        audit.record(
            actor=None, obj=customer, action="consent.withdrawn", store_id=customer.home_store_id, customer_id=customer.pk,
            changes={f"consent.marketing.{channel}": [True if latest else None, False]}, reason=note,
        )
    return True


def customer_export(*, actor: Any, customer: Customer) -> dict[str, Any]:
    """All personal data held about a customer, as a JSON-ready dict (PIPL access request)."""
    require(actor, "customers.export_customer")
    from .selectors import customer_export_data

    data = customer_export_data(customer)
    audit.record(
        actor=actor, obj=customer, action="customer.exported", store_id=customer.home_store_id, customer_id=customer.pk,
        reason=coded(gettext_noop("Personal data export")),
    )
    return data
