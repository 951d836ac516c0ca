"""People (SPEC §20): reads, scoped to the acting user. A manager or foreman (``staff.view_certification``) sees
the certificates of the staff of their stores; everyone sees their own."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import models
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


def certification_history(cert: Certification) -> list[dict[str, Any]]:
    """The certificate's audit trail in the reader's words (no raw action codes or field names)."""
    from django.contrib.contenttypes.models import ContentType
    from django.utils.translation import gettext as _

    from aftersales.common.models import AuditEvent

    actions = {"certification.recorded": _("Recorded"), "certification.changed": _("Changed"),
               "certification.withdrawn": _("Withdrawn")}
    names = {f.name: str(f.verbose_name) for f in Certification._meta.fields}
    rows = AuditEvent.objects.filter(
        content_type=ContentType.objects.get_for_model(Certification), object_id=str(cert.pk)
    ).select_related("actor").order_by("-at", "-id")
    out = []
    for e in rows:
        changed = [] if e.action == "certification.recorded" else [
            {"field": names.get(k, _("Scan") if k == "scan" else k),
             "before": "" if k == "scan" else (v[0] if v[0] is not None else "—"),
             "after": "" if k == "scan" else (v[1] if v[1] is not None else "—")}
            for k, v in (e.changes or {}).items() if k in names
        ]
        out.append({"at": e.at, "actor": e.actor, "label": actions.get(e.action, _("Changed")), "changes": changed,
                    "reason": e.reason})
    return out


def my_assignments(user: Any) -> list[Any]:
    from .models import TrainingAssignment

    return list(TrainingAssignment.objects.filter(person=user).select_related("session").order_by("done_at", "-created_at")[:12])


def assignments_for(user: Any, store: Any) -> list[Any]:
    from .models import TrainingAssignment

    if store.pk not in visible_store_ids(user) or not user.has_perm("people.view_trainingassignment"):
        return []
    return list(TrainingAssignment.objects.filter(store=store).select_related("person", "session")
                .order_by("done_at", "-created_at")[:50])


# ---- the general manager's receptions ---------------------------------------------------------------------------------
def month_bounds(store: Any, year: int, month: int) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime(year, month, 1, tzinfo=store.zone)
    end = dt.datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=store.zone)
    return start, end


@dataclass
class ReceptionMonth:
    store: Any
    year: int
    month: int
    general_manager: Any
    target: int
    count: int  # the general manager's receptions this month
    rows: list[Any]

    @property
    def met(self) -> bool:
        return self.count >= self.target

    @property
    def missing(self) -> int:
        return max(0, self.target - self.count)

    @property
    def percent(self) -> int:
        return min(100, round(100 * self.count / self.target)) if self.target else 100


def gm_receptions(user: Any, store: Any, year: int, month: int) -> ReceptionMonth:
    """The month's receptions at a store, counted for the store's general manager against their target."""
    from django.utils.translation import gettext as _

    from aftersales.common.errors import NotFound

    from .incentives import settings_for
    from .models import GMReception

    if store.pk not in visible_store_ids(user):
        raise NotFound("store_not_found", _("No such store."), "store")
    rules = settings_for(store)
    start, end = month_bounds(store, year, month)
    rows = list(GMReception.objects.filter(store=store, received_at__gte=start, received_at__lt=end)
                .select_related("customer", "order", "received_by").order_by("-received_at", "-id"))
    count = sum(1 for r in rows if r.received_by_id == rules.general_manager_id)
    return ReceptionMonth(store, year, month, rules.general_manager, rules.gm_reception_target, count, rows)


def my_gm_month(user: Any, now: dt.datetime | None = None) -> ReceptionMonth | None:
    """For the general manager's own page: this month's receptions at the store where they are the general manager."""
    from .models import PeopleSettings

    row = PeopleSettings.objects.filter(general_manager=user).select_related("store").first()
    if row is None:
        return None
    today = local_today(row.store, now)
    return gm_receptions(user, row.store, today.year, today.month)


def recent_visits(store: Any, days: int = 14) -> list[Any]:
    """The store's handover sheets of the last days, for choosing the visit the general manager received."""
    from aftersales.reception.models import Handover

    since = timezone.now() - dt.timedelta(days=days)
    return list(Handover.objects.filter(store=store, created_at__gte=since).select_related("customer", "vehicle")
                .order_by("-created_at")[:60])


def handover_get(user: Any, handover_id: int) -> Any:
    from aftersales.common.scoping import restrict_to_stores
    from aftersales.reception.models import Handover

    return get_or_404(restrict_to_stores(Handover.objects.select_related("customer", "order"), user), pk=handover_id)


# ---- the monthly customer-service meeting ---------------------------------------------------------------------------
LOW_RATING = 2  # a delivery rating of 1–2 stars (the visit or the advisor) is on the agenda


@dataclass
class AgendaItem:
    kind: str  # complaint, recovery, rating
    kind_label: str
    at: dt.datetime
    text: str
    owner: Any
    status: str
    status_label: str
    open: bool
    case: Any = None
    order: Any = None


@dataclass
class ActionRow:
    action: Any
    due_on: dt.date | None
    done_at: dt.datetime | None
    effect: str
    decided_at: Any
    overdue: bool
    figures: dict[str, Any]


def meeting_agenda(user: Any, store: Any, year: int, month: int) -> list[AgendaItem]:
    """The month's feedback as one list with owners and status: complaints, follow-up recoveries (low follow-up
    scores) and delivery ratings of 1–2 stars, oldest first."""
    from django.utils.translation import gettext as _

    from aftersales.feedback.choices import CaseKind, CaseStatus
    from aftersales.feedback.models import DeliveryRating, FeedbackCase

    start, end = month_bounds(store, year, month)
    items: list[AgendaItem] = []
    cases = (FeedbackCase.objects.filter(store=store, created_at__gte=start, created_at__lt=end,
                                         kind__in=(CaseKind.COMPLAINT, CaseKind.RECOVERY))
             .select_related("owner", "order").order_by("created_at", "id"))
    for c in cases:
        closed = c.status in (CaseStatus.RESOLVED, CaseStatus.CLOSED)
        items.append(AgendaItem(c.kind, str(CaseKind(c.kind).label), c.created_at, c.text, c.owner, c.status,
                                str(CaseStatus(c.status).label), not closed, case=c, order=c.order))
    ratings = (DeliveryRating.objects.filter(store=store, at__gte=start, at__lt=end)
               .filter(models.Q(visit_score__lte=LOW_RATING) | models.Q(advisor_score__lte=LOW_RATING))
               .select_related("advisor", "order").order_by("at", "id"))
    followed = set(FeedbackCase.objects.filter(order_id__in=[r.order_id for r in ratings]).values_list("order_id", flat=True))
    for r in ratings:
        handled = r.order_id in followed
        text = _("The visit %(v)s★, the advisor %(a)s★") % {"v": r.visit_score, "a": r.advisor_score}
        if r.comment:
            text += f" · {r.comment}"
        items.append(AgendaItem("rating", _("Low delivery rating"), r.at, text, r.advisor,
                                "case" if handled else "open",
                                _("case opened") if handled else _("no case yet"), not handled, order=r.order))
    items.sort(key=lambda i: i.at)
    return items


def meeting_actions(store: Any, now: dt.datetime | None = None) -> list[ActionRow]:
    """The store's improvement actions (the feedback report's list) with the meeting's due date and status and their
    effect: the category's cases and satisfaction before and after the action's date."""
    from aftersales.feedback.models import ImprovementAction
    from aftersales.feedback.selectors import action_effects

    today = local_today(store, now)
    out = []
    for a in (ImprovementAction.objects.filter(store=store).select_related("owner", "meeting_action__meeting")
              .order_by("-start_date", "-id")[:30]):
        extra = getattr(a, "meeting_action", None)
        due = extra.due_on if extra else None
        done = extra.done_at if extra else None
        out.append(ActionRow(a, due, done, extra.effect if extra else "", extra.meeting if extra else None,
                             bool(due and not done and due < today), action_effects(store=store, action=a, now=now)))
    out.sort(key=lambda r: (r.done_at is not None, r.due_on or dt.date.max))
    return out


def meetings_for(user: Any, store: Any) -> list[Any]:
    from .models import ServiceMeeting

    if store.pk not in visible_store_ids(user):
        return []
    return list(ServiceMeeting.objects.filter(store=store).prefetch_related("attendees").order_by("-month")[:24])


def meeting_for_month(user: Any, store: Any, year: int, month: int) -> Any:
    from .models import ServiceMeeting

    if store.pk not in visible_store_ids(user):
        return None
    return (ServiceMeeting.objects.filter(store=store, month=dt.date(year, month, 1))
            .prefetch_related("attendees", "cases", "actions__action__owner").first())


def improvement_action_get(user: Any, action_id: int) -> Any:
    from aftersales.common.scoping import restrict_to_stores
    from aftersales.feedback.models import ImprovementAction

    return get_or_404(restrict_to_stores(ImprovementAction.objects.all(), user), pk=action_id)


def my_referral_rewards(user: Any) -> dict[str, Any]:
    """The person's own referral rewards: what was paid, and how many qualified referrals wait for payment."""
    from django.db.models import Sum

    from aftersales.loyalty.choices import ReferralStatus
    from aftersales.loyalty.models import Referral

    from .models import ReferralReward

    paid = ReferralReward.objects.filter(staff=user).aggregate(s=Sum("amount"), n=models.Count("id"))
    unpaid = Referral.objects.filter(staff=user, status__in=(ReferralStatus.QUALIFIED, ReferralStatus.REWARDED),
                                     staff_reward__isnull=True).count()
    return {"paid": Decimal(paid["s"] or 0).quantize(Decimal("0.01")), "paid_count": paid["n"], "unpaid": unpaid}
