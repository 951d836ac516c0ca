"""Writes of the owner app: the SMS sign-in code (request, verify) and the owner's own changes.

Why not django-allauth's login-by-code: allauth signs in a ``settings.AUTH_USER_MODEL`` row (our staff ``User``);
owners are ``customers.Customer`` rows, never staff users (ARCHITECTURE, "two kinds of people sign in"). Making
every owner a User would put them in the staff model, its permissions and its admin. So the code is ours, kept
small: secrets for the code, a keyed HMAC (Django's ``salted_hmac``) so the database never holds it, the shared
``common.throttle`` counters for the limits, and the messaging outbox for the SMS. See docs/portal.md.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from aftersales.common import audit, throttle
from aftersales.common.errors import ValidationFailed
from aftersales.common.readtime import coded
from aftersales.common.validators import normalize_mobile

from .models import SignInCode

log = logging.getLogger(__name__)

CODE_TTL = dt.timedelta(minutes=15)
MAX_ATTEMPTS = 3
RESEND_AFTER = dt.timedelta(seconds=60)
#: codes one number may be sent per hour (every SMS is billed: a resend spends this budget too)
PER_NUMBER_HOUR = 5
#: codes one address may ask for per hour (many numbers from one place)
PER_ADDRESS_HOUR = 20
#: wrong codes one address may try per hour, whatever the number (brute force across numbers)
VERIFY_PER_ADDRESS_HOUR = 30
HOUR = 3600
_SALT = "aftersales.portal.sign-in-code"


def _hash(mobile: str, code: str) -> str:
    return salted_hmac(_SALT, f"{mobile}|{code}", algorithm="sha256").hexdigest()


def _owner_of(mobile: str) -> Any:
    from aftersales.customers.models import Customer

    return (
        Customer.objects.filter(mobile=mobile, anonymised_at__isnull=True)
        .select_related("home_store").order_by("-updated_at", "-id").first()
    )


def _store_of(customer: Any) -> Any:
    if customer.home_store_id and customer.home_store.is_active:
        return customer.home_store
    return customer.stores.filter(is_active=True).order_by("id").first()


@dataclass(frozen=True)
class CodeSent:
    mobile: str
    resend_in: int  # seconds until another code may be asked for


def code_request(*, mobile: str, ip: str, now: dt.datetime | None = None) -> CodeSent:
    """Send a sign-in code to ``mobile``, or behave exactly as if one had been sent when the number is nobody's.

    Refused with 429 when the number or the address has spent its hourly budget, or within a minute of the last code.
    """
    now = now or timezone.now()
    number = normalize_mobile(mobile, "mobile")
    stamp = now.timestamp()
    throttle.check("portal-code-ip", ip, limit=PER_ADDRESS_HOUR, window=HOUR, field="mobile", now=stamp)
    throttle.check("portal-code-number", number, limit=PER_NUMBER_HOUR, window=HOUR, field="mobile", now=stamp)
    last = SignInCode.objects.filter(mobile=number).order_by("-created_at").values_list("created_at", flat=True).first()
    if last is not None and now - last < RESEND_AFTER:
        wait = int((RESEND_AFTER - (now - last)).total_seconds()) + 1
        raise throttle.TooManyRequests(
            "resend_too_soon", _("A code was just sent. You can ask for another in %(s)s seconds.") % {"s": wait},
            "mobile", retry_after=wait,
        )
    throttle.record("portal-code-ip", ip, window=HOUR, now=stamp)
    throttle.record("portal-code-number", number, window=HOUR, now=stamp)
    code = f"{secrets.randbelow(10**6):06d}"
    customer = _owner_of(number)
    store = _store_of(customer) if customer is not None else None
    with transaction.atomic():
        SignInCode.objects.filter(mobile=number, used_at__isnull=True).update(used_at=now)  # one live code per number
        row = SignInCode.objects.create(
            mobile=number, code_hash=_hash(number, code), customer=customer if store is not None else None,
            created_at=now, expires_at=now + CODE_TTL, ip=ip if ip and ip != "unknown" else None,
        )
        if customer is not None and store is not None:
            from aftersales.messaging.services import customer_variables, message_enqueue, message_expedite

            message = message_enqueue(
                kind="portal.sign_in_code", store=store, customer=customer, channel="sms",
                variables={**customer_variables(customer=customer, store=store), "otp": code,
                           "minutes": str(int(CODE_TTL.total_seconds() // 60))},
                dedup_key=f"portal-code:{row.pk}",
            )
            message_expedite(message=message)
    return CodeSent(mobile=number, resend_in=int(RESEND_AFTER.total_seconds()))


def code_verify(*, mobile: str, code: str, ip: str, now: dt.datetime | None = None) -> Any:
    """The customer whose number received ``code``; one wrong answer in three spends the code.

    Every refusal says the same thing (wrong, expired, used up, nobody's number), so the page tells nothing about
    whether a number is a customer's.
    """
    now = now or timezone.now()
    number = normalize_mobile(mobile, "mobile")
    digits = (code or "").strip()
    if not (len(digits) == 6 and digits.isdigit()):
        raise ValidationFailed("code_format", _("Enter the 6-digit code from the text message."), "code")
    stamp = now.timestamp()
    throttle.check("portal-verify-ip", ip, limit=VERIFY_PER_ADDRESS_HOUR, window=HOUR, field="code", now=stamp)
    wrong = ValidationFailed("code_wrong", _("This code is wrong or has expired. Ask for a new code."), "code")
    customer: Any = None
    with transaction.atomic():  # the wrong attempt is counted and committed before the refusal is raised
        row = (
            SignInCode.objects.select_for_update()
            .filter(mobile=number, used_at__isnull=True, expires_at__gt=now, attempts__lt=MAX_ATTEMPTS)
            .order_by("-created_at").first()
        )
        if row is not None and row.customer_id is not None and constant_time_compare(row.code_hash, _hash(number, digits)):
            row.used_at = now
            row.save(update_fields=["used_at"])
            customer = row.customer
            audit.record(actor=None, obj=customer, action="portal.signed_in", customer_id=customer.pk, reason=ip[:100])
        elif row is not None:
            row.attempts += 1
            row.save(update_fields=["attempts"])
    if customer is None:
        throttle.record("portal-verify-ip", ip, window=HOUR, now=stamp)
        raise wrong
    return customer


def inbox_mark_read(*, customer: Any, message_ids: list[int] | None = None) -> int:
    """Mark the owner's own messages read (all of them when ``message_ids`` is None); returns how many were new."""
    from .models import InboxRead
    from .selectors import notifications_of

    qs = notifications_of(customer).filter(is_read=False)
    if message_ids is not None:
        qs = qs.filter(pk__in=message_ids)
    rows = [InboxRead(customer=customer, message_id=pk) for pk in qs.values_list("pk", flat=True)]
    InboxRead.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


# ---- the owner's own changes: each one calls the owning app's service --------------------------------------------
def owner_book(
    *, customer: Any, store: Any, service_type: Any, start: Any, vehicle: Any, advisor: Any = None,
    fault_description: str = "", photos: list[Any] | None = None,
) -> Any:
    """Book a visit (the appointments engine decides, under its locks; a race answers ``slot_taken``). Photos of the
    fault come with it, checked by ``fault_photos_add`` inside the same transaction (the booking and its photos are
    kept together or not at all), and reach the advisor with the description and its preliminary diagnosis."""
    from aftersales.appointments.services import appointment_book_by_customer

    photos = [p for p in (photos or []) if getattr(p, "size", 1)]
    with transaction.atomic():
        appointment = appointment_book_by_customer(
            customer=customer, store=store, service_type=service_type, start=start, vehicle=vehicle, advisor=advisor,
            fault_description=fault_description,
        )
        if photos:
            from aftersales.estimates.services import fault_photos_add

            fault_photos_add(appointment=appointment, photos=photos)
    return appointment


PICKUP_WINDOW = dt.timedelta(minutes=30)


def owner_book_with_pickup(
    *, customer: Any, store: Any, service_type: Any, start: Any, vehicle: Any, address: Any, lng: Any, lat: Any,
    advisor: Any = None, fault_description: str = "", voucher: Any = "", photos: list[Any] | None = None,
) -> tuple[Any, Any]:
    """Book a visit and order the car's pickup (取送车) for it at once: the driver comes in the half hour from the
    booked time. The pickup is checked first (address in the store's area, every bad field at once), then both are
    written in one transaction through the appointments and mobility services."""
    from aftersales.mobility import trips

    if store is None:
        return owner_book(customer=customer, store=store, service_type=service_type, start=start, vehicle=vehicle)
    problems, _values = trips.trip_problems(store=store, address=address, lng=lng, lat=lat,
                                            window_start=timezone.now() + dt.timedelta(days=1),
                                            window_end=timezone.now() + dt.timedelta(days=1, minutes=1), now=timezone.now())
    problems.items = [p for p in problems.items if p.field in ("address", "lng", "lat")]
    if str(voucher or "").strip():  # the owner's pickup voucher: theirs, unused, covering pickup (checked first too)
        problems.check(trips.pickup_voucher, customer, voucher, store=store, today=timezone.localtime(timezone.now(), store.zone).date())
    problems.raise_if_any()
    with transaction.atomic():
        appointment = owner_book(customer=customer, store=store, service_type=service_type, start=start,
                                 vehicle=vehicle, advisor=advisor, fault_description=fault_description, photos=photos)
        trip = trips.trip_request(actor=None, via="owner_app", store=store, vehicle=appointment.vehicle, address=address,
                                  lng=lng, lat=lat, window_start=appointment.start,
                                  window_end=appointment.start + PICKUP_WINDOW, appointment=appointment, voucher=voucher)
    return appointment, trip


def owner_cancel(*, customer: Any, appointment: Any) -> Any:
    from aftersales.appointments.services import appointment_cancel_by_owner

    return appointment_cancel_by_owner(customer=customer, appointment=appointment, reason=coded(gettext_noop("Cancelled by the owner in the app")))


def owner_reschedule(*, customer: Any, appointment: Any, start: Any) -> Any:
    from aftersales.appointments.services import appointment_reschedule_by_owner

    return appointment_reschedule_by_owner(customer=customer, appointment=appointment, start=start)


def owner_set_language(*, customer: Any, language: str) -> Any:
    """The owner's language in the app is also the language of the messages we send them."""
    if language not in ("zh-hans", "en") or customer.language == language:
        return customer
    from aftersales.customers.models import Customer

    with transaction.atomic():
        Customer.objects.filter(pk=customer.pk).update(language=language)
        audit.record(actor=None, obj=customer, action="portal.language", customer_id=customer.pk,
                     changes={"language": [customer.language, language]})
    customer.language = language
    return customer


def owner_document(*, order: Any, kind: str, language: str) -> bytes:
    """One document of the owner's own order as PDF, if the order has reached the state where it exists."""
    from django.http import Http404

    from aftersales.billing.documents import render_document

    from .selectors import documents_for

    if kind not in dict(documents_for(order)):
        raise Http404
    return render_document(order=order, kind=kind, language=language if language in ("zh-hans", "en") else "zh-hans")


#: the label of the "portal.sign_in_code" kind (declared in messaging/kinds.py), translated in this app's catalogue
KIND_LABEL = gettext_lazy("Owner app sign-in code")


def owner_feedback(*, customer: Any, store: Any, kind: str, text: str, plate: str = "", photos: list[Any] | None = None) -> Any:
    """A complaint or suggestion from the signed-in owner: the feedback app's own intake (classified, routed, SLA
    timers started), with the owner's name and number, so the case is theirs and shows in their app."""
    from aftersales.feedback.services import case_submit_public

    if store is None or store.group_id != customer.group_id:
        raise ValidationFailed("store_unknown", _("Choose one of our stores."), "store")
    return case_submit_public(store=store, kind=kind, text=text, name=customer.name, mobile=customer.mobile, plate=plate,
                              photos=photos)


# ---- my data (PIPL): consents, quiet hours, download, deletion, account deletion -----------------------------------
CONSENT_CHANNELS = ("sms", "wechat", "app", "email", "phone")
CONSENT_PURPOSES = ("service", "marketing")
DELETION_ANSWER_DAYS = 15  # (product rule) answer a deletion request within 15 days


def owner_consents_set(*, customer: Any, wanted: dict[tuple[str, str], bool]) -> int:
    """The owner's own consents per purpose and channel: an append-only Consent row (source: app) for each one that
    changes, with an audit row; one transaction. Returns how many changed."""
    from aftersales.customers.models import Consent
    from aftersales.customers.selectors import current_consents

    for purpose, channel in wanted:
        if purpose not in CONSENT_PURPOSES or channel not in CONSENT_CHANNELS:
            raise ValidationFailed("invalid_choice", _("“%(v)s” is not a valid choice.") % {"v": f"{purpose}/{channel}"}, "consent")
    now = timezone.now()
    changed = 0
    with transaction.atomic():
        from aftersales.customers.models import Customer

        Customer.objects.select_for_update().filter(pk=customer.pk).first()
        current = current_consents(list(Consent.objects.filter(customer=customer).order_by("-at", "-id")))
        for (purpose, channel), granted in wanted.items():
            latest = current.get((purpose, channel))
            if latest is not None and latest.granted == granted:
                continue
            if latest is None and not granted and purpose == "marketing":
                pass  # never granted: record the explicit "no" all the same (it is the owner's choice, dated)
            Consent.objects.create(customer=customer, purpose=purpose, channel=channel, granted=granted, at=now,
                                   source="portal", note="owner app")
            audit.record(actor=None, obj=customer, action="consent.granted" if granted else "consent.withdrawn",
                         store_id=customer.home_store_id, customer_id=customer.pk,
                         changes={f"consent.{purpose}.{channel}": [latest.granted if latest else None, granted]},
                         reason="owner app", at=now)
            changed += 1
    return changed


def _parse_time(raw: str) -> dt.time | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        return dt.time.fromisoformat(raw[:5])
    except ValueError:
        raise ValueError(raw) from None


def owner_quiet_hours_set(*, customer: Any, start: str, end: str) -> Any:
    """The owner's own quiet hours (no marketing message then): both times, or neither (none of my own)."""
    errors: dict[str, str] = {}
    values: dict[str, dt.time | None] = {}
    for name, raw in (("quiet_start", start), ("quiet_end", end)):
        try:
            values[name] = _parse_time(raw)
        except ValueError:
            errors[name] = str(_("Enter a time such as 21:00."))
    if not errors and (values["quiet_start"] is None) != (values["quiet_end"] is None):
        missing = "quiet_start" if values["quiet_start"] is None else "quiet_end"
        errors[missing] = str(_("Give both times, or clear both."))
    if not errors and values["quiet_start"] is not None and values["quiet_start"] == values["quiet_end"]:
        errors["quiet_end"] = str(_("The end must differ from the start."))
    if errors:
        first = next(iter(errors))
        raise ValidationFailed("invalid", errors[first], first, errors=errors)
    from aftersales.customers.models import Customer

    with transaction.atomic():
        locked = Customer.objects.select_for_update().get(pk=customer.pk)
        before = [str(locked.quiet_start or ""), str(locked.quiet_end or "")]
        locked.quiet_start, locked.quiet_end = values["quiet_start"], values["quiet_end"]
        locked.save(update_fields=["quiet_start", "quiet_end"])
        audit.record(actor=None, obj=locked, action="customer.quiet_hours", store_id=locked.home_store_id,
                     customer_id=locked.pk, changes={"quiet_hours": [before, [str(locked.quiet_start or ""),
                                                                             str(locked.quiet_end or "")]]},
                     reason="owner app")
    return locked


OWNER_CHANNELS = ("sms", "wechat", "app", "email")  # the channels an owner can choose for our messages (not "phone")


def owner_message_preferences_set(*, customer: Any, channel: str, reminders: str, progress: str) -> Any:
    """The owner's own choice of how we reach them (issue 14, item 4): the channel of our messages, how often care
    reminders come (the daily care sweep honours it) and how often a visit's progress is messaged (the status page
    always shows every step). Every bad choice is named at once; nothing changes then."""
    from aftersales.common.errors import Problems
    from aftersales.customers.choices import ProgressFrequency, ReminderFrequency
    from aftersales.customers.models import Customer

    problems = Problems()
    if channel not in OWNER_CHANNELS:
        problems.add("invalid_choice", _("Choose how we reach you."), "preferred_channel")
    elif channel == "email" and not customer.email:
        problems.add("email_missing", _("We have no e-mail address for you: choose another way, or ask your advisor "
                                        "to add your address."), "preferred_channel")
    elif channel == "wechat" and not customer.wechat_openid:
        problems.add("wechat_missing", _("Your WeChat is not linked yet: choose another way."), "preferred_channel")
    if reminders not in ReminderFrequency.values:
        problems.add("invalid_choice", _("Choose how often we remind you."), "reminder_frequency")
    if progress not in ProgressFrequency.values:
        problems.add("invalid_choice", _("Choose when we message you during a visit."), "progress_frequency")
    problems.raise_if_any()
    fields = ("preferred_channel", "reminder_frequency", "progress_frequency")
    with transaction.atomic():
        locked = Customer.objects.select_for_update().get(pk=customer.pk)
        before = {f: getattr(locked, f) for f in fields}
        locked.preferred_channel, locked.reminder_frequency, locked.progress_frequency = channel, reminders, progress
        changes = {f: [before[f], getattr(locked, f)] for f in fields if before[f] != getattr(locked, f)}
        if changes:
            locked.save(update_fields=list(fields))
            audit.record(actor=None, obj=locked, action="customer.message_preferences", store_id=locked.home_store_id,
                         customer_id=locked.pk, changes=changes, reason="owner app")
    return locked


def owner_data_export(*, customer: Any) -> dict[str, Any]:
    """Everything we hold about the owner (PIPL art. 45), as JSON: the same export as the staff's (every app's
    sections, ``exports.SECTIONS``) plus the app's own records (quiet hours, sign-ins)."""
    from aftersales.common.audit import plain
    from aftersales.customers.selectors import customer_export_data

    data = customer_export_data(customer)

    data.update({
        "quiet_hours": [plain(customer.quiet_start), plain(customer.quiet_end)],
        "sign_ins": [{"created_at": plain(c), "used_at": plain(u), "ip": ip} for c, u, ip in
                     SignInCode.objects.filter(customer=customer).order_by("id").values_list("created_at", "used_at", "ip")],
    })
    audit.record(actor=None, obj=customer, action="customer.exported", store_id=customer.home_store_id,
                 customer_id=customer.pk, reason="owner app: download my data")
    return data




def owner_data_zip(*, customer: Any, language: str) -> bytes:
    """The whole zip in memory (tests, small exports); the app streams it with :func:`owner_data_zip_stream`."""
    return b"".join(owner_data_zip_stream(customer=customer, language=language))


class _ZipSink:
    """A write-only stream for ``zipfile`` (not seekable, so entries carry data descriptors): what was written since
    the last ``take()`` is handed on and forgotten, so the memory held is one entry's chunk, not the archive."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.size = 0

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        return None

    def take(self) -> bytes:
        out, self.parts = b"".join(self.parts), []
        return out


def owner_data_zip_stream(*, customer: Any, language: str) -> Iterator[bytes]:
    """"Download my data" as one zip, produced piece by piece (bounded memory whatever the number of visits):
    ``my-data.json`` (:func:`owner_data_export`), then **every** visit of the owner (newest first) with its documents
    as PDF (invoice, repair list…, as the app offers them), inspection reports and the work photos the store shared,
    then the photos the owner sent with complaints. Only the owner's own visits (a car they sold: nothing after the
    sale). Files are copied in chunks, never read whole."""
    import json
    import zipfile

    from django.core.serializers.json import DjangoJSONEncoder

    from aftersales.billing.documents import render_document
    from aftersales.estimates.models import WorkPhoto
    from aftersales.feedback.models import CasePhoto
    from aftersales.inspections.models import Inspection
    from aftersales.inspections.report import render_pdf

    from .selectors import documents_for, orders_of

    language = language if language in ("zh-hans", "en") else "zh-hans"
    data = owner_data_export(customer=customer)
    sink = _ZipSink()
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED) as archive:  # type: ignore[call-overload]
        archive.writestr("my-data.json", json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=1))
        del data
        yield sink.take()
        for order in orders_of(customer).order_by("-opened_at", "-id").iterator(chunk_size=ZIP_ORDERS_CHUNK):
            folder = f"visits/{order.number}"
            for kind, _label in documents_for(order):  # the ones this visit has reached
                archive.writestr(f"{folder}/{kind}.pdf", render_document(order=order, kind=kind, language=language))
                yield sink.take()
            for inspection in Inspection.objects.filter(order=order, status="completed"):
                archive.writestr(f"{folder}/inspection-{inspection.pk}.pdf", render_pdf(inspection, language))
                yield sink.take()
            for photo in WorkPhoto.objects.filter(order=order).order_by("id"):
                yield from _zip_file(archive, sink, f"{folder}/photos/{photo.pk}", photo.image)
        for sent in CasePhoto.objects.filter(case__customer=customer).order_by("id"):
            yield from _zip_file(archive, sink, f"feedback/{sent.case_id}/{sent.pk}", sent.image)
    yield sink.take()  # the central directory


ZIP_ORDERS_CHUNK = 50
ZIP_COPY_CHUNK = 256 * 1024


def _zip_file(archive: Any, sink: _ZipSink, stem: str, field: Any) -> Iterator[bytes]:
    """One stored file into the archive, copied in chunks (each chunk handed on as it is compressed)."""
    import os

    try:
        with field.open("rb") as fh, archive.open(stem + os.path.splitext(field.name)[1].lower()[:6], "w") as entry:
            while chunk := fh.read(ZIP_COPY_CHUNK):
                entry.write(chunk)
                yield sink.take()
    except (FileNotFoundError, OSError):  # a file gone from storage: the JSON still lists the record
        log.warning("my-data zip: %s missing", field.name)
    yield sink.take()


# ---- WeChat: the official account's openid, for WeChat Pay JSAPI -----------------------------------------------------
WECHAT_STATE_SALT = "portal.wechat_bind"
WECHAT_STATE_MAX_AGE = 600


def wechat_bind_state(*, customer: Any, next_url: str) -> str:
    """The signed ``state`` of the OAuth redirect: whose binding it is and where to go after (10 minutes)."""
    from django.core import signing

    return signing.dumps({"c": customer.pk, "n": next_url}, salt=WECHAT_STATE_SALT, compress=True)


def owner_wechat_bind(*, customer: Any, code: str, state: str) -> str:
    """WeChat sent the owner back with ``code``: the state must be this owner's (signed, fresh), the code is exchanged
    for the openid, which is stored on the customer (audited). Returns where to go next."""
    from django.core import signing

    from aftersales.customers.models import Customer

    from . import wechat_oauth

    try:
        data = signing.loads(state or "", salt=WECHAT_STATE_SALT, max_age=WECHAT_STATE_MAX_AGE)
    except signing.BadSignature as exc:
        raise ValidationFailed("wechat_state", _("This WeChat sign-in link has expired. Please try again."), "state") from exc
    if data.get("c") != customer.pk:
        raise ValidationFailed("wechat_state", _("This WeChat sign-in link has expired. Please try again."), "state")
    if not (code or "").strip():
        raise ValidationFailed("wechat_refused", _("WeChat did not confirm your account. Please try again."), "code")
    try:
        openid = wechat_oauth.openid_for_code(code.strip()[:128])
    except wechat_oauth.OAuthError as exc:
        log.warning("wechat bind for customer %s: %s", customer.pk, exc)
        raise ValidationFailed("wechat_refused", _("WeChat did not confirm your account. Please try again."), "code") from exc
    with transaction.atomic():
        person = Customer.objects.select_for_update().get(pk=customer.pk)
        before = person.wechat_openid
        if before != openid:
            person.wechat_openid = openid
            person.save(update_fields=["wechat_openid"])
            audit.record(actor=None, obj=person, action="portal.wechat_bound", store_id=person.home_store_id,
                         customer_id=person.pk, changes={"wechat_openid": [bool(before), True]}, reason="owner app")
    customer.wechat_openid = openid
    return str(data.get("n") or "")


def owner_deletion_request(*, customer: Any, reason: str = "") -> Any:
    """The owner asks for their personal data to be deleted: one open request at a time, into the staff queue."""
    from .models import DeletionRequest

    reason = (reason or "").strip()
    if len(reason) > 500:
        raise ValidationFailed("too_long", _("At most %(n)s characters.") % {"n": 500}, "reason")
    now = timezone.now()
    with transaction.atomic():
        open_request = DeletionRequest.objects.select_for_update().filter(customer=customer, status="requested").first()
        if open_request is not None:
            return open_request
        request = DeletionRequest.objects.create(customer=customer, reason=reason, requested_at=now,
                                                 due_at=now + dt.timedelta(days=DELETION_ANSWER_DAYS))
        audit.record(actor=None, obj=customer, action="customer.deletion_requested", store_id=customer.home_store_id,
                     customer_id=customer.pk, reason=reason[:300], at=now)
    return request


#: what the law makes us keep when a customer's data is deleted, and why (shown to staff and to the owner)
RETAINED = (
    gettext_lazy("Invoices, credit notes and payments: kept for the statutory period (accounting archives, 30 years; "
                 "tax records, 10 years), under the customer number only."),
    gettext_lazy("Repair orders, parts fitted and warranty records of the car: kept with the car (VIN) for recalls "
                 "and warranty, without the name and contact details."),
    gettext_lazy("The record of consents given and withdrawn, and this request: kept as proof."),
)


def deletion_apply(*, actor: Any, request: Any) -> Any:
    """Staff apply a deletion request: the owner's personal details are erased from every record that holds them
    (``erasure.erase``: name, mobile, e-mail, address, WeChat ID and plates in every table, texts of messages and
    surveys, photos and signatures in the upload folder), the customer row keeps only a pseudonym, the app login is
    removed, and what the law requires is kept (``RETAINED``) pointing at that pseudonymised row. One transaction,
    irreversible, audited (the audit entry names no personal data)."""
    from aftersales.common.permissions import require, require_store
    from aftersales.customers.models import Customer
    from aftersales.messaging.models import Message

    from . import erasure
    from .models import DeletionRequest

    require(actor, "portal.handle_deletionrequest")
    customer = request.customer
    if customer.home_store_id:
        require_store(actor, customer.home_store_id)
    now = timezone.now()
    with transaction.atomic():
        locked = DeletionRequest.objects.select_for_update().get(pk=request.pk)
        if locked.status != DeletionRequest.Status.REQUESTED:
            return locked
        person = Customer.objects.select_for_update().get(pk=customer.pk)
        pseudonym = pseudonym_of(person.pk)
        Message.objects.filter(customer=person).update(body="", recipient="")
        counts = erasure.erase(person, pseudonym=pseudonym)
        person.name = pseudonym
        person.mobile = f"+00{person.pk:012d}"  # unique in the group, reaches no one
        person.mobile_digits = person.mobile.lstrip("+")
        for name in ("email", "address", "preferences", "notes", "wechat_openid"):
            setattr(person, name, "")
        person.birthday = None
        person.title = ""
        person.quiet_start = person.quiet_end = None
        person.anonymised_at = now
        person.save()
        person.tags.clear()
        _login_remove(person, now)
        locked.status, locked.handled_at, locked.handled_by = DeletionRequest.Status.DONE, now, actor
        locked.outcome = "\n".join(str(r) for r in RETAINED)
        locked.save()
        audit.record(actor=actor, obj=person, action="customer.deleted", store_id=person.home_store_id,
                     customer_id=person.pk, reason="PIPL deletion request",
                     changes={"erased": [None, counts]}, at=now)
    return locked


def pseudonym_of(pk: int) -> str:
    """What an erased customer is called from then on (the invoices and repair orders kept point at it)."""
    return f"#{pk:06d}"


def deletion_refuse(*, actor: Any, request: Any, reason: str) -> Any:
    """Staff refuse a deletion request with the reason (a legal exception, an open dispute…): the request is closed
    as refused, nothing is erased, and the owner is told why in their own language. One transaction."""
    from aftersales.common.permissions import require, require_store
    from aftersales.messaging.services import customer_variables, message_enqueue

    from .models import DeletionRequest

    require(actor, "portal.handle_deletionrequest")
    customer = request.customer
    if customer.home_store_id:
        require_store(actor, customer.home_store_id)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("required", _("Give the reason the customer will be told."), "refuse_reason")
    if len(reason) > 500:
        raise ValidationFailed("too_long", _("At most %(n)s characters.") % {"n": 500}, "refuse_reason")
    now = timezone.now()
    with transaction.atomic():
        locked = DeletionRequest.objects.select_for_update().get(pk=request.pk)
        if locked.status != DeletionRequest.Status.REQUESTED:
            return locked
        locked.status, locked.handled_at, locked.handled_by = DeletionRequest.Status.REFUSED, now, actor
        locked.outcome = reason
        locked.save()
        audit.record(actor=actor, obj=customer, action="customer.deletion_refused", store_id=customer.home_store_id,
                     customer_id=customer.pk, reason=reason, at=now)
        store = customer.home_store
        if store is not None:
            message_enqueue(
                kind="portal.deletion_refused", store=store, customer=customer,
                variables={**customer_variables(customer=customer, store=store),
                           "date": timezone.localtime(locked.requested_at, store.zone).date().isoformat(), "reason": reason},
                dedup_key=f"deletion-refused:{locked.pk}",
            )
    return locked


def _login_remove(customer: Any, now: dt.datetime) -> None:
    from .models import InboxRead, OwnerAccount

    account, _created = OwnerAccount.objects.select_for_update().get_or_create(customer=customer)
    account.epoch += 1
    account.closed_at = now
    account.save()
    SignInCode.objects.filter(customer=customer).delete()
    InboxRead.objects.filter(customer=customer).delete()


def owner_account_delete(*, customer: Any) -> None:
    """The owner deletes their app account: every session of theirs ends at once (on every phone), the WeChat
    binding, sign-in codes and read marks go. The customer record and its history stay (the store's records);
    deleting those is a deletion request. Signing in again later with the number starts a new account."""
    from aftersales.customers.models import Customer

    now = timezone.now()
    with transaction.atomic():
        person = Customer.objects.select_for_update().get(pk=customer.pk)
        person.wechat_openid = ""
        person.save(update_fields=["wechat_openid"])
        _login_remove(person, now)
        audit.record(actor=None, obj=person, action="portal.account_deleted", store_id=person.home_store_id,
                     customer_id=person.pk, reason="owner app", at=now)


def owner_pay_loyalty(*, customer: Any, invoice: Any, action: str, data: Any) -> Any:
    """The owner takes points (``action`` "points": ``data["points"]``) or one of their vouchers ("voucher":
    ``data["voucher"]``) off an invoice's balance before paying the rest online — a visit's invoice and an app
    order's sale invoice alike (``data["key"]``: the pay page's idempotency key). billing's owner services do the
    checks and the write; their refusals are raised as they are."""
    from aftersales.billing.services import owner_pay_with_points, owner_pay_with_voucher

    if action == "points":
        return owner_pay_with_points(customer=customer, invoice=invoice, points=data.get("points", ""),
                                     idempotency_key=data.get("key", ""))
    if action == "voucher":
        return owner_pay_with_voucher(customer=customer, invoice=invoice, voucher_id=data.get("voucher", ""),
                                      idempotency_key=data.get("key", ""))
    raise ValidationFailed("invalid_choice", _("“%(v)s” is not a valid choice.") % {"v": action}, "action")
