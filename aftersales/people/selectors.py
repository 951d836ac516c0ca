"""People (SPEC §20): reads, scoped to the acting user. A manager or foreman (``staff.view_certification``) sees
the certificates of the staff of their stores; everyone sees their own."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from aftersales.common.scoping import get_or_404, visible_store_ids
from aftersales.staff.models import Certification, StoreMembership

EXPIRY_WARNING_DAYS = 60


def local_today(store: Any = None, now: dt.datetime | None = None) -> dt.date:
    now = now or timezone.now()
    return timezone.localtime(now, store.zone).date() if store is not None else timezone.localdate(now)


def certifications_visible_to(user: Any, store_id: int | None = None) -> QuerySet[Certification]:
    """Certificates of staff working at one of the user's stores (``store_id`` narrows to one); without
    ``staff.view_certification`` only the user's own."""
    qs = Certification.objects.select_related("user")
    if not user.has_perm("staff.view_certification"):
        return qs.filter(user=user)
    stores = visible_store_ids(user)
    if store_id is not None:
        stores = [s for s in stores if s == store_id]
    works_here = StoreMembership.objects.filter(user_id=OuterRef("user_id"), store_id__in=stores)
    return qs.filter(Exists(works_here))


def certification_get(user: Any, certification_id: int) -> Certification:
    return get_or_404(certifications_visible_to(user), pk=certification_id)


@dataclass
class CertificateRow:
    certification: Certification
    status: str  # "valid", "expiring", "expired", "withdrawn", "not_yet"
    days_left: int | None

    @property
    def status_label(self) -> str:
        from django.utils.translation import gettext as _

        return {
            "valid": _("valid"), "expiring": _("expires soon"), "expired": _("expired"), "withdrawn": _("withdrawn"),
            "not_yet": _("not yet valid"),
        }[self.status]


def certificate_row(cert: Certification, today: dt.date) -> CertificateRow:
    if cert.withdrawn_at is not None:
        return CertificateRow(cert, "withdrawn", None)
    if cert.valid_until < today:
        return CertificateRow(cert, "expired", None)
    days = (cert.valid_until - today).days
    if cert.valid_from > today:
        return CertificateRow(cert, "not_yet", days)
    return CertificateRow(cert, "expiring" if days <= EXPIRY_WARNING_DAYS else "valid", days)


def certificate_rows(user: Any, store: Any, now: dt.datetime | None = None) -> list[CertificateRow]:
    today = local_today(store, now)
    qs = certifications_visible_to(user, store.pk).order_by("user__display_name", "user__username", "kind", "-valid_until")
    return [certificate_row(c, today) for c in qs]


def my_certificate_rows(user: Any, now: dt.datetime | None = None) -> list[CertificateRow]:
    today = local_today(None, now)
    return [certificate_row(c, today) for c in Certification.objects.filter(user=user).order_by("kind", "-valid_until")]


def expiring_certifications_all(now: dt.datetime, days: int = EXPIRY_WARNING_DAYS) -> list[tuple[Certification, Any, int]]:
    """For the daily sweep (not scoped: it acts for nobody): (certificate, store, days left) for each certificate in
    force that ends within ``days`` of the store's local date, once per store of the holder's memberships (primary
    store first; the reminder goes once, from the first)."""
    first_day = timezone.localdate(now) - dt.timedelta(days=1)
    out: list[tuple[Certification, Any, int]] = []
    certs = Certification.objects.filter(
        withdrawn_at__isnull=True, valid_until__gte=first_day, valid_until__lte=first_day + dt.timedelta(days=days + 2)
    ).select_related("user").order_by("valid_until", "id")
    for cert in certs:
        membership = (
            StoreMembership.objects.filter(user_id=cert.user_id).select_related("store").order_by("-is_primary", "id").first()
        )
        if membership is None:
            continue
        store = membership.store
        today = local_today(store, now)
        left = (cert.valid_until - today).days
        if 0 <= left <= days and cert.valid_from <= today:
            out.append((cert, store, left))
    return out


def terminal_get(user: Any, terminal_id: int) -> Any:
    from aftersales.common.scoping import restrict_to_stores

    from .models import RatingTerminal

    return get_or_404(restrict_to_stores(RatingTerminal.objects.all(), user), pk=terminal_id)


def order_get(user: Any, order_id: int) -> Any:
    from aftersales.common.scoping import restrict_to_stores
    from aftersales.workshop.models import RepairOrder

    return get_or_404(
        restrict_to_stores(RepairOrder.objects.select_related("store", "vehicle", "advisor", "customer"), user), pk=order_id
    )


# ---- training ---------------------------------------------------------------------------------------------------------
def programmes_for(user: Any, store: Any) -> list[Any]:
    from .models import NewHireProgramme

    if store.pk not in visible_store_ids(user):
        return []
    return list(NewHireProgramme.objects.filter(store=store).select_related("person", "mentor")
                .prefetch_related("modules").order_by("-started_on", "-id"))


def sessions_for(user: Any, store: Any) -> list[Any]:
    from .models import TrainingSession

    if store.pk not in visible_store_ids(user):
        return []
    return list(TrainingSession.objects.filter(store=store).prefetch_related("attendance__person")
                .order_by("-held_on", "-id")[:24])


def module_get(user: Any, module_id: int) -> Any:
    from aftersales.common.scoping import restrict_to_stores

    from .models import ProgrammeModule

    return get_or_404(restrict_to_stores(ProgrammeModule.objects.select_related("programme"), user, "programme__store_id"),
                      pk=module_id)


def my_programme(user: Any) -> Any:
    from .models import NewHireProgramme

    return (NewHireProgramme.objects.filter(person=user).select_related("mentor").prefetch_related("modules").first())


def my_attendance(user: Any) -> list[Any]:
    from .models import SessionAttendance

    return list(SessionAttendance.objects.filter(person=user).select_related("session").order_by("-session__held_on")[:24])


def my_scorecard_summary(user: Any) -> Any:
    """The person's scorecard this quarter (the cockpit's own selector), or None for someone without a store."""
    from aftersales.analytics.selectors import my_scorecard
    from aftersales.common.errors import DomainError

    try:
        return my_scorecard(user=user, kind="quarter")["card"]
    except DomainError:
        return None
