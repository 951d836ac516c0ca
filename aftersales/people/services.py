"""People (SPEC §20): writes for certifications and the daily reminder of certificates about to expire.

The ``Certification`` model lives in ``staff`` (a low layer) so that the workshop's dispatch can check it without
importing this app (ARCHITECTURE habit 7); this app is the only one that writes it (docs/people.md).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _

from aftersales.common import audit
from aftersales.common.errors import Conflict, ValidationFailed
from aftersales.common.permissions import require
from aftersales.common.uploads import check_image
from aftersales.staff.models import Certificate, Certification

EXPIRY_WARNING_DAYS = 60
REMINDER_KIND = "people.certificate_expiring"


def _date(value: Any, field: str, problems: list[ValidationFailed]) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    text = str(value or "").strip()
    if not text:
        problems.append(ValidationFailed("required", _("Enter a date."), field))
        return None
    try:
        day = parse_date(text)
    except ValueError:
        day = None
    if day is None:
        problems.append(ValidationFailed("date_format", _("Enter a date such as 2026-12-01."), field))
    return day


def _text(value: Any, field: str, limit: int, problems: list[ValidationFailed], *, required: bool = True) -> str:
    text = " ".join(str(value or "").split())
    if required and not text:
        problems.append(ValidationFailed("required", _("This field is required."), field))
    elif len(text) > limit:
        problems.append(ValidationFailed("too_long", _("At most %(n)s characters.") % {"n": limit}, field))
    return text[:limit]


def _raise(problems: list[ValidationFailed]) -> None:
    if problems:
        first = problems[0]
        raise ValidationFailed(
            first.code, first.message, first.field,
            errors=[{"code": p.code, "field": p.field, "message": str(p.message)} for p in problems],
        )


def certification_record(
    *, actor: Any, holder: Any, kind: str, issuer: str, number: str, valid_from: Any, valid_until: Any,
    level: str = "", scan: bytes | None = None,
) -> Certification:
    """Record a certificate a member of staff holds. Every bad field is named at once; nothing is written then.
    The scan is checked like every upload (an image within the size cap, stored upright without EXIF)."""
    require(actor, "staff.add_certification")
    problems: list[ValidationFailed] = []
    if kind not in Certificate.values:
        problems.append(ValidationFailed("invalid_choice", _("Choose what the certificate is for."), "kind"))
    issuer = _text(issuer, "issuer", 120, problems)
    number = _text(number, "number", 60, problems)
    level = _text(level, "level", 60, problems, required=False)
    start = _date(valid_from, "valid_from", problems)
    end = _date(valid_until, "valid_until", problems)
    if start and end and end < start:
        problems.append(ValidationFailed("dates_reversed", _("The certificate must end after it starts."), "valid_until"))
    image = None
    if scan:
        try:
            image = check_image(scan, field="scan")
        except ValidationFailed as exc:
            problems.append(exc)
    _raise(problems)
    try:
        with transaction.atomic():
            cert = Certification(
                user=holder, kind=kind, issuer=issuer, level=level, number=number,
                valid_from=start, valid_until=end,  # type: ignore[misc]  # both checked above (None raised)
                created_by=actor,
            )
            if image is not None:
                digest = hashlib.sha256(image.content).hexdigest()[:16]
                cert.scan.save(f"{digest}.{image.extension}", ContentFile(image.content), save=False)
            cert.save()
            audit.record(
                actor=actor, obj=cert, action="certification.recorded",
                changes={"holder": [None, holder.pk], "kind": [None, kind], "number": [None, number],
                         "valid": [None, f"{start}..{end}"]},
            )
    except IntegrityError as exc:
        raise Conflict(
            "certificate_exists", _("This issuer's certificate with this number is already recorded."), "number"
        ) from exc
    return cert


def certification_withdraw(*, actor: Any, certification: Certification, reason: str) -> Certification:
    """Withdraw a certificate (revoked or recorded by mistake): it stops counting at once."""
    require(actor, "staff.change_certification")
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationFailed("reason_required", _("Say why the certificate is withdrawn."), "reason")
    with transaction.atomic():
        locked = Certification.objects.select_for_update().get(pk=certification.pk)
        if locked.withdrawn_at is not None:
            raise Conflict("already_withdrawn", _("This certificate is already withdrawn."), "certification")
        locked.withdrawn_at = timezone.now()
        locked.save(update_fields=["withdrawn_at"])
        audit.record(actor=actor, obj=locked, action="certification.withdrawn",
                     changes={"withdrawn_at": [None, audit.plain(locked.withdrawn_at)]}, reason=reason[:300])
    return locked


def certificate_reminder_sweep(*, now: dt.datetime | None = None) -> int:
    """Daily: each certificate that expires within 60 days gets one in-app reminder to its holder and one to each
    foreman of the holder's stores, through the outbox. The dedup key names the certificate and its end date, so the
    sweep is safe to run twice (and a renewed certificate is reminded again before its new end). Returns the
    messages created."""
    from aftersales.customers.choices import Channel
    from aftersales.messaging.models import Message
    from aftersales.messaging.services import OutgoingMessage, message_enqueue_many
    from aftersales.staff.models import StoreMembership
    from aftersales.staff.roles import Role

    from .selectors import expiring_certifications_all

    now = now or timezone.now()
    created = 0
    for cert, store, days in expiring_certifications_all(now, EXPIRY_WARNING_DAYS):
        foremen = list(
            StoreMembership.objects.filter(store=store, user__groups__name=Role.FOREMAN, user__is_active=True)
            .exclude(user_id=cert.user_id).select_related("user").distinct()
        )
        variables = {
            "holder_name": str(cert.user), "certificate": str(Certificate(cert.kind).label),
            "number": cert.number, "valid_until": cert.valid_until.isoformat(), "days": str(days),
            "link": f"/people/?store={store.pk}",
        }
        recipients = [(cert.user, "/people/me/")] + [(m.user, f"/people/?store={store.pk}") for m in foremen]
        items = [
            OutgoingMessage(
                kind=REMINDER_KIND, store=store, staff_user=user, channel=Channel.APP,
                dedup_key=f"people.cert_expiring:{cert.pk}:{cert.valid_until.isoformat()}:{user.pk}",
                variables={**variables, "link": link},
            )
            for user, link in recipients
        ]
        keys = [i.dedup_key for i in items]
        before = set(Message.objects.filter(dedup_key__in=keys).values_list("dedup_key", flat=True))
        with transaction.atomic():
            message_enqueue_many(items=items, skip_invalid=True)
        created += len(set(keys) - before)
    return created
