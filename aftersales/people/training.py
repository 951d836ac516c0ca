"""Training (SPEC §20): the new hire's month (a checklist of modules with a mentor) and the monthly in-service
sessions (date, trainer, topic, attendance, a short test and its result)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _

from aftersales.common import audit
from aftersales.common.errors import Conflict, ValidationFailed
from aftersales.common.permissions import require, require_store
from aftersales.staff.models import StoreMembership

from .models import NEW_HIRE_MODULES, NewHireProgramme, ProgrammeModule, SessionAttendance, TrainingSession


def _works_at(user: Any, store: Any, field: str) -> None:
    if user is None or not StoreMembership.objects.filter(user=user, store=store).exists():
        raise ValidationFailed("not_at_store", _("Choose someone who works at this store."), field)


def _raise(problems: list[ValidationFailed]) -> None:
    if problems:
        first = problems[0]
        raise ValidationFailed(first.code, first.message, first.field,
                               errors=[{"code": p.code, "field": p.field, "message": str(p.message)} for p in problems])


def _day(value: Any, field: str, problems: list[ValidationFailed]) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    try:
        day = parse_date(str(value or "").strip())
    except ValueError:
        day = None
    if day is None:
        problems.append(ValidationFailed("date_format", _("Enter a date such as 2026-12-01."), field))
    return day


def programme_start(*, actor: Any, store: Any, person: Any, mentor: Any, started_on: Any) -> NewHireProgramme:
    """Start a new hire's month: every module of the checklist, open."""
    require(actor, "people.add_newhireprogramme")
    require_store(actor, store.pk)
    problems: list[ValidationFailed] = []
    for user, field in ((person, "person"), (mentor, "mentor")):
        try:
            _works_at(user, store, field)
        except ValidationFailed as exc:
            problems.append(exc)
    if person is not None and mentor is not None and person.pk == mentor.pk:
        problems.append(ValidationFailed("mentor_is_person", _("The mentor must be someone else."), "mentor"))
    day = _day(started_on, "started_on", problems)
    _raise(problems)
    with transaction.atomic():
        if NewHireProgramme.objects.select_for_update().filter(person=person).exists():
            raise Conflict("programme_exists", _("%(name)s already has a new-hire programme.") % {"name": person}, "person")
        programme = NewHireProgramme.objects.create(store=store, person=person, mentor=mentor, started_on=day, created_by=actor)
        ProgrammeModule.objects.bulk_create(
            [ProgrammeModule(programme=programme, code=code, seq=n) for n, (code, _t) in enumerate(NEW_HIRE_MODULES)]
        )
        audit.record(actor=actor, obj=programme, action="programme.started", store_id=store.pk,
                     changes={"person": [None, person.pk], "mentor": [None, mentor.pk]})
    return programme


def module_sign_off(*, actor: Any, module: ProgrammeModule, done: bool = True) -> ProgrammeModule:
    """The mentor (or a manager) signs a module off (or reopens it)."""
    programme = module.programme
    if actor.pk != programme.mentor_id:
        require(actor, "people.change_newhireprogramme")
    require_store(actor, programme.store_id)
    with transaction.atomic():
        locked = ProgrammeModule.objects.select_for_update().get(pk=module.pk)
        before = locked.done_at
        locked.done_at = timezone.now() if done else None
        locked.signed_by = actor if done else None
        locked.save(update_fields=["done_at", "signed_by"])
        audit.record(actor=actor, obj=programme, action="programme.module", store_id=programme.store_id,
                     changes={locked.code: [audit.plain(before), audit.plain(locked.done_at)]})
    return locked


def session_record(
    *, actor: Any, store: Any, held_on: Any, trainer: str, topic: str, pass_mark: Any = 60,
    results: dict[Any, Any] | None = None,
) -> TrainingSession:
    """A monthly session with who attended and each one's test score (``results``: {person: score or None})."""
    require(actor, "people.add_trainingsession")
    require_store(actor, store.pk)
    problems: list[ValidationFailed] = []
    day = _day(held_on, "held_on", problems)
    trainer = " ".join((trainer or "").split())[:60]
    topic = " ".join((topic or "").split())[:120]
    if not trainer:
        problems.append(ValidationFailed("required", _("Name the trainer."), "trainer"))
    if not topic:
        problems.append(ValidationFailed("required", _("Give the topic."), "topic"))
    mark = str(pass_mark).strip()
    if not mark.isdigit() or int(mark) > 100:
        problems.append(ValidationFailed("score_range", _("Enter a whole number from 0 to 100."), "pass_mark"))
    scores: list[tuple[Any, int | None]] = []
    for person, score in (results or {}).items():
        try:
            _works_at(person, store, "attendees")
        except ValidationFailed as exc:
            problems.append(exc)
            continue
        text = "" if score is None else str(score).strip()
        if text and (not text.isdigit() or int(text) > 100):
            problems.append(ValidationFailed("score_range", _("Enter a whole number from 0 to 100."), f"score-{person.pk}"))
            continue
        scores.append((person, int(text) if text else None))
    _raise(problems)
    with transaction.atomic():
        session = TrainingSession.objects.create(store=store, held_on=day, trainer=trainer, topic=topic,
                                                 pass_mark=int(mark), created_by=actor)
        SessionAttendance.objects.bulk_create(
            [SessionAttendance(session=session, person=p, score=s) for p, s in scores]
        )
        # attending a session on an assigned topic fulfils the assignment (a failed test does not)
        from .models import TrainingAssignment

        fulfilled = [
            a.pk for a in TrainingAssignment.objects.filter(
                person__in=[p for p, s in scores if s is None or s >= int(mark)], done_at__isnull=True,
                topic__iexact=topic,
            )
        ]
        TrainingAssignment.objects.filter(pk__in=fulfilled).update(session=session, done_at=timezone.now())
        audit.record(actor=actor, obj=session, action="training_session.recorded", store_id=store.pk,
                     changes={"attendees": [None, len(scores)], "assignments_done": [None, len(fulfilled)]})
    return session
