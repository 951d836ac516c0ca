"""Follow-ups after delivery, retries, answers and recovery, cases with their transition table, SLA timers on the
store's business calendar (nights, weekends, holidays, make-up workdays), pause, warnings and escalation."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from aftersales.common.errors import Conflict, Forbidden, IllegalTransition, ValidationFailed
from aftersales.feedback import services
from aftersales.feedback.choices import (
    CASE_TRANSITIONS,
    CaseChannel,
    CaseKind,
    CaseStatus,
    FollowUpMethod,
    FollowUpStatus,
)
from aftersales.feedback.models import CaseEvent, FeedbackCase, FollowUp, LabelCorrection, RoutingRule, SlaTimer
from aftersales.messaging.models import Message
from aftersales.stores.models import Holiday, HolidayKind

from .conftest import answer_all, deliver, local, next_weekday

pytestmark = pytest.mark.django_db


# ---- follow-up creation and due times -------------------------------------------------------------------------------
def test_followup_is_due_24h_and_overdue_72h_after_delivery_and_created_once(loop):
    order = deliver(loop.world, loop.vehicle)
    first = services.followup_create_for_order(order=order)
    again = services.followup_create_for_order(order=order)
    assert first.pk == again.pk and FollowUp.objects.count() == 1
    assert first.due_at == order.delivered_at + dt.timedelta(hours=24)
    assert first.overdue_at == order.delivered_at + dt.timedelta(hours=72)
    assert first.method == FollowUpMethod.SURVEY  # the customer prefers SMS: a survey link
    assert first.advisor == loop.world.advisor and first.customer == loop.customer
    call = services.followup_create_for_order(order=deliver(loop.world, loop.caller_car))
    assert call.method == FollowUpMethod.CALL  # prefers a phone call: a call-centre task


def test_followup_refused_for_an_order_not_delivered(loop):
    from aftersales.workshop.services import repair_order_record_visit

    from .conftest import JOBS

    order = repair_order_record_visit(actor=loop.world.advisor, store=loop.store, customer=loop.customer, vehicle=loop.vehicle,
                                      opened_at=timezone.now(), jobs=JOBS)
    with pytest.raises(ValidationFailed) as exc:
        services.followup_create_for_order(order=order)
    assert exc.value.code == "order_not_delivered"
    assert not FollowUp.objects.exists()


def test_sweep_finds_delivered_orders_without_followup_but_not_old_history(loop):
    recent = deliver(loop.world, loop.vehicle)
    old = deliver(loop.world, loop.vehicle, delivered_at=timezone.now() - dt.timedelta(days=60))
    counts = services.followup_sweep()
    assert counts["created"] == 1
    assert FollowUp.objects.filter(order=recent).exists() and not FollowUp.objects.filter(order=old).exists()
    assert services.followup_sweep()["created"] == 0


# ---- retries ---------------------------------------------------------------------------------------------------------
def test_survey_sent_on_day_1_3_7_then_closed_unreached(loop):
    delivered = timezone.now() - dt.timedelta(days=20)
    order = deliver(loop.world, loop.vehicle, delivered_at=delivered)
    followup = services.followup_create_for_order(order=order)
    assert services.followup_sweep(now=delivered + dt.timedelta(hours=23))["surveys"] == 0
    for day, attempt in ((1, 1), (3, 2), (7, 3)):
        at = delivered + dt.timedelta(days=day, minutes=1)
        assert services.followup_sweep(now=at)["surveys"] == 1
        assert services.followup_sweep(now=at)["surveys"] == 0  # idempotent
        assert Message.objects.filter(dedup_key=f"followup:{followup.pk}:survey:{attempt}", kind="followup.survey").exists()
    followup.refresh_from_db()
    assert followup.attempts == 3 and followup.next_attempt_at is None and followup.status == FollowUpStatus.OPEN
    sms = Message.objects.get(dedup_key=f"followup:{followup.pk}:survey:1")
    assert "/s/" in sms.body and sms.channel == "sms"
    assert services.followup_sweep(now=followup.expires_at - dt.timedelta(minutes=1))["unreached"] == 0
    assert services.followup_sweep(now=followup.expires_at)["unreached"] == 1
    followup.refresh_from_db()
    assert followup.status == FollowUpStatus.UNREACHED
    assert followup.expires_at == delivered + dt.timedelta(days=7, hours=48)


def test_call_attempts_follow_the_configured_days_then_unreached(loop):
    cfg = services.settings_for(loop.store)
    cfg.retry_days = "1,2"
    cfg.save()
    delivered = timezone.now() - dt.timedelta(days=1, hours=1)
    followup = services.followup_create_for_order(order=deliver(loop.world, loop.caller_car, delivered_at=delivered))
    assert followup.next_attempt_at == delivered + dt.timedelta(days=1)
    followup = services.followup_record_attempt(actor=loop.agent, followup=followup, note="无人接听")
    assert followup.attempts == 1 and followup.status == FollowUpStatus.OPEN
    assert followup.next_attempt_at == delivered + dt.timedelta(days=2)
    followup = services.followup_record_attempt(actor=loop.agent, followup=followup, note="关机")
    assert followup.status == FollowUpStatus.UNREACHED and followup.next_attempt_at is None
    with pytest.raises(Conflict):
        services.followup_record_attempt(actor=loop.agent, followup=followup)
    with pytest.raises(Forbidden):
        services.followup_record_attempt(actor=loop.world.technician, followup=followup)


# ---- answers and recovery ----------------------------------------------------------------------------------------
def test_good_scores_close_the_followup_without_recovery(loop):
    followup = services.followup_create_for_order(order=deliver(loop.world, loop.vehicle))
    services.followup_answer(followup=followup, scores=answer_all(9), actor=loop.agent)
    followup.refresh_from_db()
    assert followup.status == FollowUpStatus.ANSWERED and followup.answered_by == loop.agent
    assert not FeedbackCase.objects.exists()
    with pytest.raises(Conflict) as exc:
        services.followup_answer(followup=followup, scores=answer_all(10))
    assert exc.value.code == "already_answered"


def test_a_score_below_8_opens_recovery_for_the_advisor_due_in_one_business_hour(loop):
    monday = next_weekday(0)
    delivered = local(monday, "10:00")
    followup = services.followup_create_for_order(order=deliver(loop.world, loop.vehicle, delivered_at=delivered))
    answered = local(monday + dt.timedelta(days=1), "17:30")  # Tuesday 17:30: half an hour before closing
    services.followup_answer(followup=followup, scores=answer_all(9, waiting=7), suggestions="", now=answered)
    case = FeedbackCase.objects.get()
    assert case.kind == CaseKind.RECOVERY and case.owner == loop.world.advisor and case.order == followup.order
    assert case.category == "waiting" and case.customer == loop.customer
    timer = SlaTimer.objects.get(case=case)
    assert timer.kind == "recovery"
    assert timer.due_at == local(monday + dt.timedelta(days=2), "09:30")  # 30 min on Tuesday + 30 min on Wednesday
    assert not Message.objects.filter(customer=loop.customer, kind="feedback.received").exists()  # the advisor calls
    services.case_transition(actor=loop.world.advisor, case=case, to="acknowledged")
    services.case_transition(actor=loop.world.advisor, case=case, to="in_progress")
    with pytest.raises(ValidationFailed) as exc:
        services.case_transition(actor=loop.world.advisor, case=case, to="resolved", resolution="道歉并送洗车券")
    assert exc.value.field == "reaction"
    case = services.case_transition(actor=loop.world.advisor, case=case, to="resolved", resolution="道歉并送洗车券", reaction="accepted")
    assert case.reaction == "accepted" and SlaTimer.objects.get(case=case).met_at is not None


def test_an_eight_is_satisfied_and_a_seven_is_not(loop):
    f1 = services.followup_create_for_order(order=deliver(loop.world, loop.vehicle))
    services.followup_answer(followup=f1, scores=answer_all(8))
    assert not FeedbackCase.objects.exists()
    f2 = services.followup_create_for_order(order=deliver(loop.world, loop.vehicle))
    services.followup_answer(followup=f2, scores=answer_all(8, recommend=7), suggestions="希望周末延长营业时间")
    kinds = sorted(FeedbackCase.objects.values_list("kind", flat=True))
    assert kinds == ["recovery", "suggestion"]


def test_a_case_from_a_survey_answer_reads_in_each_readers_language(loop):
    """Issue 16: the questions of the low scores and the channel are stored as codes, whoever answered (an agent
    reading English here): a Chinese reader reads them in Chinese, an English one in English; the customer's words
    stay as written."""
    from django.utils.translation import override

    followup = services.followup_create_for_order(order=deliver(loop.world, loop.vehicle))
    with override("en"):
        services.followup_answer(followup=followup, scores=answer_all(9, overall=5, waiting=6), suggestions="等太久了 / too long",
                                 actor=loop.agent)
    with override("zh-hans"):
        case = FeedbackCase.objects.get(kind=CaseKind.RECOVERY)
        event = CaseEvent.objects.filter(case=case).order_by("id").first()
        zh = (str(case.text), str(event.reason))
    with override("en"):
        case = FeedbackCase.objects.get(kind=CaseKind.RECOVERY)
        event = CaseEvent.objects.filter(case=case).order_by("id").first()
        en = (str(case.text), str(event.reason))
    assert "Overall, how satisfied" not in zh[0] and "5 分" in zh[0] and "6 分" in zh[0] and "；" in zh[0]
    assert zh[0].endswith("\n等太久了 / too long") and zh[1] == "回访答复"
    assert en[0].startswith("Overall, how satisfied are you with this visit? 5/10; ") and "6/10" in en[0]
    assert en[0].endswith("\n等太久了 / too long") and en[1] == "Follow-up answer"
    typed = services.case_create(actor=loop.world.advisor, store=loop.store, kind="complaint", channel="phone",
                                 text='{"_t":"Work started"}', customer=loop.customer)
    with override("zh-hans"):
        assert FeedbackCase.objects.get(pk=typed.pk).text.endswith('{"_t":"Work started"}')  # what a person typed, as typed


@pytest.mark.parametrize("bad", [{"waiting": 11}, {"waiting": -1}, {"waiting": "x"}, {"waiting": None}])
def test_scores_are_whole_numbers_0_to_10(loop, bad):
    followup = services.followup_create_for_order(order=deliver(loop.world, loop.vehicle))
    with pytest.raises(ValidationFailed) as exc:
        services.followup_answer(followup=followup, scores=answer_all(9, **bad))
    assert exc.value.field == "waiting"
    followup.refresh_from_db()
    assert followup.status == FollowUpStatus.OPEN and followup.score_attitude is None


def test_survey_token_tampered_or_expired(loop):
    followup = services.followup_create_for_order(order=deliver(loop.world, loop.vehicle))
    token = services.survey_token(followup)
    assert services.followup_from_token(token).pk == followup.pk
    assert services.followup_from_token(token[:-2] + ("AA" if not token.endswith("AA") else "BB")) is None
    assert services.followup_from_token("garbage") is None
    with pytest.raises(Conflict) as exc:
        services.followup_answer(followup=followup, scores=answer_all(9), now=followup.expires_at + dt.timedelta(seconds=1))
    assert exc.value.code == "survey_expired"


# ---- cases, routing, classification --------------------------------------------------------------------------------
def _complaint(loop, text="等了三个小时车还没修好，太慢了", **kw):
    kw.setdefault("kind", CaseKind.COMPLAINT)
    kw.setdefault("channel", CaseChannel.PHONE)
    return services.case_create(actor=loop.world.advisor, store=loop.store, text=text, customer=loop.customer, **kw)


def test_complaint_is_classified_routed_acknowledged_to_the_customer(loop):
    RoutingRule.objects.create(store=loop.store, category="waiting", owner=loop.world.staff["foreman"])
    case = _complaint(loop)
    assert case.category == "waiting" and case.owner == loop.world.staff["foreman"]
    assert sorted(SlaTimer.objects.filter(case=case).values_list("kind", flat=True)) == ["acknowledge", "contact", "resolve"]
    assert Message.objects.filter(customer=loop.customer, kind="feedback.received", dedup_key=f"feedback:{case.pk}:received").exists()
    assert Message.objects.filter(staff_user=loop.world.staff["foreman"], kind="staff.task", channel="app").exists()
    other = _complaint(loop, text="The lounge toilets were dirty and there was no soap")
    assert other.category == "facilities" and other.owner == loop.world.manager  # no rule: the store's manager


def test_relabel_keeps_the_correction_reroutes_and_feeds_retraining(loop):
    from aftersales.feedback import classifier

    RoutingRule.objects.create(store=loop.store, category="parts", owner=loop.world.staff["parts_clerk"])
    case = _complaint(loop, text="车子弄好了但是那个东西不太对")
    services.case_relabel(actor=loop.world.advisor, case=case, category="parts")
    case.refresh_from_db()
    assert case.category == "parts" and case.category_corrected and case.owner == loop.world.staff["parts_clerk"]
    correction = LabelCorrection.objects.get()
    assert (correction.text, correction.corrected) == (case.text, "parts")
    assert ("车子弄好了但是那个东西不太对", "parts") in classifier.corrections()
    with pytest.raises(ValidationFailed):
        services.case_relabel(actor=loop.world.advisor, case=case, category="nonsense")


def test_case_needs_text_and_links_in_the_same_group(loop):
    with pytest.raises(ValidationFailed) as exc:
        _complaint(loop, text="  ")
    assert exc.value.field == "text"
    other_store_order = deliver(loop.world, loop.vehicle, store=loop.world.b)
    with pytest.raises(ValidationFailed) as exc:
        _complaint(loop, order=other_store_order)
    assert exc.value.field == "order"
    with pytest.raises(Forbidden):
        services.case_create(actor=loop.world.advisor_b, store=loop.store, kind="complaint", channel="phone", text="x")
    assert not FeedbackCase.objects.exists()


def test_every_move_outside_the_table_is_refused(loop):
    case = _complaint(loop)
    advisor = loop.world.advisor
    path = {CaseStatus.NEW: None, CaseStatus.ACKNOWLEDGED: "acknowledged", CaseStatus.IN_PROGRESS: "in_progress",
            CaseStatus.RESOLVED: "resolved", CaseStatus.CLOSED: "closed"}
    for state in CaseStatus.values:
        FeedbackCase.objects.filter(pk=case.pk).update(status=state)
        for target in CaseStatus.values:
            if target in CASE_TRANSITIONS[state]:
                continue
            case.refresh_from_db()
            with pytest.raises(IllegalTransition):
                services.case_transition(actor=advisor, case=case, to=target, reason="x", resolution="done")
            assert FeedbackCase.objects.get(pk=case.pk).status == state
    assert path  # every state was visited


def test_full_life_cycle_with_reopen_and_timeline(loop):
    case = _complaint(loop)
    a = loop.world.advisor
    services.case_transition(actor=a, case=case, to="acknowledged")
    services.case_record_contact(actor=a, case=case, note="已致电客户，约定明天复检")
    services.case_transition(actor=a, case=case, to="in_progress")
    with pytest.raises(ValidationFailed):
        services.case_transition(actor=a, case=case, to="resolved")
    services.case_transition(actor=a, case=case, to="resolved", resolution="免费复检并更换刹车片")
    assert Message.objects.filter(kind="feedback.resolved", customer=loop.customer).count() == 1
    with pytest.raises(ValidationFailed):
        services.case_transition(actor=a, case=case, to="in_progress")  # a reopen needs a reason
    services.case_transition(actor=a, case=case, to="in_progress", reason="客户反映仍有异响")
    services.case_transition(actor=a, case=case, to="resolved", resolution="更换刹车盘")
    services.case_transition(actor=a, case=case, to="closed")
    assert Message.objects.filter(kind="feedback.resolved", customer=loop.customer).count() == 2
    moves = [(e.from_state, e.to_state) for e in CaseEvent.objects.filter(case=case, kind="status")]
    assert moves == [("", "new"), ("new", "acknowledged"), ("acknowledged", "in_progress"), ("in_progress", "resolved"),
                     ("resolved", "in_progress"), ("in_progress", "resolved"), ("resolved", "closed")]
    assert all(t.met_at for t in SlaTimer.objects.filter(case=case))


def test_suggestion_tells_the_customer_whether_adopted(loop):
    case = services.case_create(actor=loop.world.advisor, store=loop.store, kind="suggestion", channel="box",
                                text="建议周末延长营业时间", customer=loop.customer)
    assert sorted(SlaTimer.objects.filter(case=case).values_list("kind", flat=True)) == ["acknowledge", "assess"]
    services.case_transition(actor=loop.world.advisor, case=case, to="acknowledged")
    services.case_transition(actor=loop.world.advisor, case=case, to="in_progress")
    with pytest.raises(ValidationFailed) as exc:
        services.case_transition(actor=loop.world.advisor, case=case, to="resolved", resolution="下月起周六营业到20点")
    assert exc.value.field == "adopted"
    services.case_transition(actor=loop.world.advisor, case=case, to="resolved", resolution="下月起周六营业到20点", adopted=True)
    message = Message.objects.get(kind="feedback.suggestion_answer")
    assert "已采纳" in message.body or "adopted" in message.body


# ---- SLA on the business calendar ------------------------------------------------------------------------------------
def test_ack_two_business_hours_across_the_night(loop):
    monday = next_weekday(0)
    warn, due = services.sla_due(loop.store, local(monday, "17:00"), 2, "hours")
    assert due == local(monday + dt.timedelta(days=1), "10:00")
    assert warn == local(monday + dt.timedelta(days=1), "09:30")  # 75% of 2 h = 1 h 30 min of opening time


def test_ack_across_the_weekend_and_a_holiday_monday(loop):
    friday = next_weekday(4)
    _warn, due = services.sla_due(loop.store, local(friday, "17:30"), 2, "hours")
    assert due == local(friday + dt.timedelta(days=3), "10:30")
    Holiday.objects.create(store=loop.store, date=friday + dt.timedelta(days=3), name="节假日", kind=HolidayKind.CLOSED)
    _warn, due = services.sla_due(loop.store, local(friday, "17:30"), 2, "hours")
    assert due == local(friday + dt.timedelta(days=4), "10:30")
    # received on Saturday night: the clock starts on Tuesday morning
    _warn, due = services.sla_due(loop.store, local(friday + dt.timedelta(days=1), "22:00"), 2, "hours")
    assert due == local(friday + dt.timedelta(days=4), "11:00")


def test_a_make_up_saturday_counts_as_a_workday(loop):
    friday = next_weekday(4)
    Holiday.objects.create(store=loop.store, date=friday + dt.timedelta(days=1), name="调休", kind=HolidayKind.WORKDAY)
    _warn, due = services.sla_due(loop.store, local(friday, "17:30"), 2, "hours")
    assert due == local(friday + dt.timedelta(days=1), "10:30")  # Saturday follows Monday's hours


def test_three_business_days_skip_weekend_and_holiday(loop):
    thursday = next_weekday(3)
    _warn, due = services.sla_due(loop.store, local(thursday, "15:00"), 3, "days")
    assert due == local(thursday + dt.timedelta(days=5), "15:00")  # Fri, Mon, Tue
    Holiday.objects.create(store=loop.store, date=thursday + dt.timedelta(days=4), name="节假日", kind=HolidayKind.CLOSED)
    _warn, due = services.sla_due(loop.store, local(thursday, "15:00"), 3, "days")
    assert due == local(thursday + dt.timedelta(days=6), "15:00")


def test_warning_then_escalation_to_the_manager_once(loop):
    monday = next_weekday(0)
    with_time = local(monday, "09:00")
    case = _complaint(loop)
    FeedbackCase.objects.filter(pk=case.pk).update(created_at=with_time)
    timer = SlaTimer.objects.get(case=case, kind="acknowledge")
    warn, due = services.sla_due(loop.store, with_time, 2, "hours")
    SlaTimer.objects.filter(pk=timer.pk).update(started_at=with_time, warn_at=warn, due_at=due)
    SlaTimer.objects.filter(case=case).exclude(pk=timer.pk).update(met_at=with_time)  # only the ack clock runs here
    assert services.sla_sweep(now=local(monday, "10:00")) == {"warned": 0, "escalated": 0}
    assert services.sla_sweep(now=local(monday, "10:31")) == {"warned": 1, "escalated": 0}
    assert services.sla_sweep(now=local(monday, "10:32")) == {"warned": 0, "escalated": 0}
    owner_alerts = Message.objects.filter(staff_user=case.owner, dedup_key=f"feedback:timer:{timer.pk}:warn")
    assert owner_alerts.count() == 1
    assert services.sla_sweep(now=local(monday, "11:01")) == {"warned": 0, "escalated": 1}
    assert services.sla_sweep(now=local(monday, "11:30")) == {"warned": 0, "escalated": 0}
    manager = loop.world.manager
    escalations = Message.objects.filter(staff_user=manager, dedup_key__startswith=f"feedback:timer:{timer.pk}:breach")
    expected = ["app", "sms"] if manager.phone else ["app"]
    assert sorted(escalations.values_list("channel", flat=True)) == expected
    assert CaseEvent.objects.filter(case=case, kind="escalation").count() == 1
    timer.refresh_from_db()
    assert timer.breached_at is not None and timer.met_at is None


def test_pause_needs_a_manager_and_shifts_the_deadline_by_the_business_time_paused(loop):
    monday = next_weekday(0)
    case = _complaint(loop)
    start = local(monday, "09:00")
    warn, due = services.sla_due(loop.store, start, 2, "hours")
    SlaTimer.objects.filter(case=case).update(met_at=start)
    SlaTimer.objects.filter(case=case, kind="acknowledge").update(met_at=None, started_at=start, warn_at=warn, due_at=due)
    with pytest.raises(Forbidden):
        services.case_pause(actor=loop.world.advisor, case=case, reason="等客户提供照片")
    services.case_pause(actor=loop.world.manager, case=case, reason="等客户提供照片", now=local(monday, "10:00"))
    assert services.sla_sweep(now=local(monday, "16:00")) == {"warned": 0, "escalated": 0}  # paused: no alarm
    services.case_resume(actor=loop.world.advisor, case=case, now=local(monday + dt.timedelta(days=1), "09:00"))
    timer = SlaTimer.objects.get(case=case, kind="acknowledge")
    assert timer.due_at == local(monday + dt.timedelta(days=1), "10:00")  # 1 h was left when paused
    assert timer.warn_at == local(monday + dt.timedelta(days=1), "09:30")
    kinds = list(CaseEvent.objects.filter(case=case).values_list("kind", flat=True))
    assert "pause" in kinds and "resume" in kinds
