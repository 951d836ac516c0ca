"""Each KPI on a small hand-computed data set, borders included (a visit exactly 12 months ago, a refund, a store's
first month/quarter, a follow-up answered at the period's last minute). Periods are November 2026, Shanghai time;
the clock is set by the test."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from aftersales.analytics import kpis
from aftersales.analytics.kpis import Scope
from aftersales.analytics.models import GrossProfitMonth, KpiSettings
from aftersales.analytics.periods import Period
from aftersales.billing.models import CreditNote, Payment, Refund
from aftersales.common.tests.factories import make_staff
from aftersales.feedback.models import FeedbackCase, SlaTimer
from aftersales.inspections.models import Inspection, QcCheck, Rework
from aftersales.parts.models import Part, StockItem
from aftersales.staff.roles import Role, sync_roles
from aftersales.workshop.models import ProgressFlag

from . import factories as f

pytestmark = pytest.mark.django_db
NOV = Period.containing("month", dt.date(2026, 11, 1))
NOW = f.at("2026-12-05", "12:00")


@pytest.fixture
def store():
    return f.store()


@pytest.fixture
def tech(store):
    sync_roles()
    return make_staff(Role.TECHNICIAN, store)


def scope(*stores, period=NOV, now=NOW, settings=None):
    return Scope(list(stores), period, now, settings or {})


def value(kpi_code, figures, key=None):
    n, d = figures[key]
    return kpis.BY_CODE[kpi_code].value(n, d)


def test_period_arithmetic():
    assert NOV.end == dt.date(2026, 12, 1) and NOV.previous().start == dt.date(2026, 10, 1)
    q = Period.containing("quarter", dt.date(2026, 11, 17))
    assert (q.start, q.end, q.label) == (dt.date(2026, 10, 1), dt.date(2027, 1, 1), "2026-Q4")
    w = Period.containing("week", dt.date(2026, 11, 19))  # a Thursday
    assert w.start == dt.date(2026, 11, 16) and w.days == 7
    assert Period.containing("year", dt.date(2026, 2, 28)).shift(-1).start == dt.date(2025, 1, 1)
    a, b = NOV.bounds(f.SH)
    assert a == dt.datetime(2026, 10, 31, 16, 0, tzinfo=dt.UTC) and b == dt.datetime(2026, 11, 30, 16, 0, tzinfo=dt.UTC)


def test_csat_overall_share_8_to_10_with_period_borders(store):
    for score, answered in ((10, "2026-11-02"), (8, "2026-11-10"), (7, "2026-11-11")):
        f.followup(f.order(store, opened=f.at("2026-11-01")), answered=f.at(answered), overall=score, attitude=9)
    f.followup(f.order(store, opened=f.at("2026-11-01")), answered=f.at("2026-11-30", "23:59"), overall=9, attitude=5)
    f.followup(f.order(store, opened=f.at("2026-11-01")), answered=f.at("2026-12-01", "00:00"), overall=2)  # next month
    f.followup(f.order(store, opened=f.at("2026-11-01")), answered=f.at("2026-11-12"), attitude=3)  # call ended half-way
    f.followup(f.order(store, opened=f.at("2026-11-01")), answered=None)  # not answered
    other = f.store(group=store.group)
    f.followup(f.order(other, opened=f.at("2026-11-01")), answered=f.at("2026-11-05"), overall=1)
    figures = kpis.csat(scope(store))
    assert figures[store.pk] == (3, 4) and value("csat", figures) == Decimal("75.0")
    # per-question share beside it: attitude 9, 9, 9, 5, 3 → 3 of 5
    assert value("csat_attitude", kpis.csat(scope(store), "attitude")) == Decimal("60.0")
    group = kpis.csat(scope(store, other))
    assert group[None] == (3, 5) and group[other.pk] == (0, 1)


def test_nps_promoters_minus_detractors(store):
    for score in (10, 9, 8, 6, 0, 10):
        f.followup(f.order(store, opened=f.at("2026-11-01")), answered=f.at("2026-11-03"), recommend=score)
    figures = kpis.nps(scope(store))
    assert figures[store.pk] == (1, 6)  # 3 promoters − 2 detractors over 6
    assert value("nps", figures) == Decimal("16.7")


def test_repurchase_base_is_the_12_months_before_the_period(store):
    a, b, c, d, e = (f.customer(store) for _ in range(5))
    f.paid_visit(store, a, "2025-11-01")  # exactly 12 months before the period: in the base
    f.paid_visit(store, a, "2026-11-10")  # came back
    f.paid_visit(store, b, "2025-10-31")  # a day earlier: not in the base
    f.paid_visit(store, b, "2026-11-05")
    f.paid_visit(store, c, "2026-03-01")  # in the base, did not come back
    f.paid_visit(store, d, "2026-05-01")
    f.paid_visit(store, d, "2026-11-20", amount="800", refunded="800")  # refunded in full: not a paid visit
    f.paid_visit(store, e, "2026-10-31")  # the day before the period: in the base
    f.paid_visit(store, e, "2026-12-01")  # the day after: did not come back in the period
    figures = kpis.repurchase(scope(store))
    assert figures[store.pk] == (1, 4)
    assert value("repurchase", figures) == Decimal("25.0")
    assert {(cid, hit) for _s, cid, hit in kpis.repurchase_rows(scope(store))} == {(a.pk, True), (c.pk, False), (d.pk, False), (e.pk, False)}


def test_repurchase_group_counts_a_customer_once(store):
    other = f.store(group=store.group)
    c = f.customer(store)
    f.paid_visit(store, c, "2026-06-01")
    f.paid_visit(other, c, "2026-07-01")
    f.paid_visit(other, c, "2026-11-02")
    figures = kpis.repurchase(scope(store, other))
    assert figures[store.pk] == (0, 1) and figures[other.pk] == (1, 1)
    assert figures[None] == (1, 1)


def test_churn_active_12_months_silent_6(store):
    # as of 2026-11-30 (the period's last day): active = after 2025-11-30; churned = last visit on or before 2026-05-30
    days = {"2025-11-30": None, "2025-12-01": True, "2026-05-30": True, "2026-05-31": False, "2026-11-20": False}
    customers = {}
    for day, _expected in days.items():
        customers[day] = f.customer(store)
        f.paid_visit(store, customers[day], day)
    rows = {cid: hit for _s, cid, hit in kpis.churn_rows(scope(store))}
    assert rows == {customers[d].pk: hit for d, hit in days.items() if hit is not None}
    assert value("churn", kpis.churn(scope(store))) == Decimal("50.0")


def test_churn_in_a_current_period_is_as_of_today(store):
    c = f.customer(store)
    f.paid_visit(store, c, "2026-05-20")
    # on 2026-11-19 the customer is 6 months silent (on or before 2026-05-19? no: 2026-05-20 is after it)
    current = scope(store, now=f.at("2026-11-19", "09:00"))
    assert kpis.churn(current)[store.pk] == (0, 1)
    later = scope(store, now=f.at("2026-11-20", "09:00"))
    assert kpis.churn(later)[store.pk] == (1, 1)


def test_waiting_time_and_change_against_the_first_full_quarter(store, tech):
    # the store's first order: 2026-02-15 → its first full quarter is Q2 (April–June)
    q1 = f.order(store, opened=f.at("2026-02-15", "09:00"))
    f.clock(f.job(q1), tech, f.at("2026-02-15", "10:00"), 30)  # 60 min, before the first full quarter
    q2 = f.order(store, opened=f.at("2026-04-01", "00:30"))  # the quarter's first day
    f.clock(f.job(q2), tech, f.at("2026-04-01", "01:20"), 30)  # 50 min
    a = f.order(store, opened=f.at("2026-11-03", "09:00"))
    j = f.job(a)
    f.clock(j, tech, f.at("2026-11-03", "10:00"), 20)
    f.clock(f.job(a), tech, f.at("2026-11-03", "09:20"), 30)  # the first clock-on of the order: 20 min
    b = f.order(store, opened=f.at("2026-11-04", "10:00"))
    f.clock(f.job(b), tech, f.at("2026-11-04", "10:40"), 30)  # 40 min
    f.order(store, opened=f.at("2026-11-05", "10:00"))  # nobody clocked on yet: not counted
    f.order(store, opened=f.at("2026-11-05", "11:00"), status="cancelled")
    s = scope(store)
    current = kpis.waiting(s)
    assert value("waiting", current) == Decimal("30.0") and current[store.pk][1] == 2
    baseline = kpis.waiting_baseline(s)
    assert baseline[store.pk] == (Decimal(50), Decimal(1))
    assert kpis.waiting_change(current, baseline)[store.pk] == Decimal(-40)
    # a manager-set baseline wins
    manual = scope(store, settings={store.pk: KpiSettings(store=store, waiting_baseline=Decimal("60"))})
    assert kpis.waiting_change(current, kpis.waiting_baseline(manual))[store.pk] == Decimal(-50)


def test_waiting_baseline_when_the_store_opens_on_a_quarter_day(store, tech):
    o = f.order(store, opened=f.at("2026-01-01", "09:00"))  # first order on the quarter's first day: Q1 counts
    f.clock(f.job(o), tech, f.at("2026-01-01", "09:45"), 30)
    assert kpis.waiting_baseline(scope(store))[store.pk] == (Decimal(45), Decimal(1))


def _invoice_with_lines(store, tech, day):
    o = f.order(store, opened=f.at(day, "09:00"))
    j = f.job(o)
    inv = f.invoice(o, total="339.00")
    f.line(inv, o, j, kind="labour", amount="113.00", quantity="1.5")  # 100 ex VAT
    f.line(inv, o, j, kind="part", amount="226.00", quantity="2", unit_cost="50")  # 200 ex VAT, cost 100
    f.clock(j, tech, f.at(day, "09:30"), 60)  # 1 h × 80 = 80 labour cost
    return o, inv


def test_aftersales_profit_share_with_a_refund_and_the_imported_month(store, tech):
    _o, inv = _invoice_with_lines(store, tech, "2026-11-10")
    payment = Payment.objects.create(invoice=inv, method="cash", amount=Decimal("339.00"), received_at=f.at("2026-11-10", "12:00"),
                                     idempotency_key="p1")
    Refund.objects.create(payment=payment, amount=Decimal("22.60"), reason="goodwill", refunded_at=f.at("2026-11-11"), idempotency_key="r1")
    s = scope(store)
    gp = kpis.aftersales_gross_profit(s)[store.pk]
    assert gp["revenue"] == Decimal("280") and gp["parts_cost"] == Decimal("100") and gp["labour_cost"] == Decimal("80")
    assert gp["gross_profit"] == Decimal("100")
    assert kpis.profit_share(s)[store.pk] == (Decimal("100"), Decimal("0"))  # nothing imported: no share
    GrossProfitMonth.objects.create(store=store, month=dt.date(2026, 11, 1), new_car=Decimal("60"), other=Decimal("40"), imported_at=NOW)
    GrossProfitMonth.objects.create(store=store, month=dt.date(2026, 10, 1), new_car=Decimal("9999"), imported_at=NOW)
    assert value("profit_share", kpis.profit_share(s)) == Decimal("50.0")
    # a week takes its days' share of the month: 7/30 of 100
    week = scope(store, period=Period.containing("week", dt.date(2026, 11, 10)))
    assert kpis.imported_gross_profit(week)[store.pk] == Decimal("100") * 7 / 30


def test_labour_rate_hours_per_order_and_efficiency(store, tech):
    _invoice_with_lines(store, tech, "2026-11-10")
    _invoice_with_lines(store, tech, "2026-11-11")
    s = scope(store)
    assert value("labour_rate", kpis.labour_rate(s)) == Decimal("66.7")  # 200 ex VAT / 3 h sold
    assert value("hours_per_order", kpis.hours_per_order(s)) == Decimal("1.5")
    assert value("efficiency", kpis.efficiency(s)) == Decimal("150.0")  # 3 h sold / 2 h clocked


def test_productivity_clocked_over_rostered(store, tech):
    from aftersales.appointments.models import TechnicianShift

    TechnicianShift.objects.create(user=tech, store=store, weekday=0, start=dt.time(9), end=dt.time(17))  # Mondays, 8 h
    o = f.order(store, opened=f.at("2026-11-02", "09:00"))
    f.clock(f.job(o), tech, f.at("2026-11-02", "09:30"), 240)
    # November 2026 has 5 Mondays: 40 h rostered; 4 h clocked
    assert value("productivity", kpis.productivity(scope(store))) == Decimal("10.0")


def test_work_order_accuracy_counts_credit_notes(store):
    invoices = [f.invoice(f.order(store, opened=f.at(f"2026-11-0{i}")), total="100") for i in (2, 3, 4)]
    CreditNote.objects.create(store=store, invoice=invoices[0], number="CN1", year=2026, seq=1, issued_at=f.at("2026-11-20"),
                              total=Decimal("-10"), tax=Decimal("-1.15"), reason="price corrected")
    f.invoice(f.order(store, opened=f.at("2026-11-05")), total="100", status="void")
    assert kpis.accuracy(scope(store))[store.pk] == (2, 3)


def test_first_time_fix_rework_and_comebacks(store, tech):
    c = f.customer(store)
    v1, v2, v3 = (f.vehicle(c) for _ in range(3))
    f.order(store, c, v1, opened=f.at("2026-11-02", "09:00"), delivered=f.at("2026-11-02", "12:00"))
    back = f.order(store, c, v1, opened=f.at("2026-11-20"), delivered=f.at("2026-11-20", "15:00"))  # back in 18 days
    f.job(back, job_type="repair")
    reworked = f.order(store, c, v2, opened=f.at("2026-11-03"))
    j = f.job(reworked)
    qc = QcCheck.objects.create(store=store, order=reworked, kind="final", result="fail", signed_by=tech)
    Rework.objects.create(store=store, order=reworked, job=j, qc_check=qc, technician=tech, reason="noise")
    fine = f.order(store, c, v3, opened=f.at("2026-11-01", "09:00"), delivered=f.at("2026-11-01", "12:00"))
    later = f.order(store, c, v3, opened=f.at("2026-12-02"))  # 31 days later: not a comeback
    f.job(later, job_type="repair")
    service = f.order(store, c, v3, opened=f.at("2026-11-10"))  # a service visit: not a comeback of "fine" …
    f.job(service, job_type="maintenance")
    rows = {o.pk: (o.reworked, o.came_back) for o in kpis.delivered_orders(scope(store))}
    assert rows[fine.pk] == (False, False) and rows[reworked.pk] == (True, False)
    assert rows[service.pk] == (False, True)  # … but the repair on 2 December is a comeback 22 days after it
    # delivered in November: first (came back), back, reworked, fine, the service visit → 2 of 5 fixed first time
    assert kpis.first_time_fix(scope(store))[store.pk] == (2, 5)


def test_progress_orders_without_a_flag(store, tech):
    a = f.order(store, opened=f.at("2026-11-02"))
    f.clock(f.job(a), tech, f.at("2026-11-02", "10:10"), 30)
    b = f.order(store, opened=f.at("2026-11-03"))
    f.clock(f.job(b), tech, f.at("2026-11-03", "10:10"), 30)
    ProgressFlag.objects.create(order=b, silent_since=f.at("2026-11-03", "10:00"), flagged_at=f.at("2026-11-03", "10:30"))
    f.order(store, opened=f.at("2026-11-04"))  # never in the workshop: not counted
    assert kpis.progress(scope(store))[store.pk] == (1, 2)


def test_followup_and_case_sla(store):
    on_time = f.followup(f.order(store, opened=f.at("2026-11-01")), answered=f.at("2026-11-02"), overall=9)
    late = f.followup(f.order(store, opened=f.at("2026-11-05")), answered=f.at("2026-11-20"), overall=9)
    f.followup(f.order(store, opened=f.at("2026-11-06")), answered=None)  # never answered
    f.followup(f.order(store, opened=f.at("2026-12-04", "09:00")), answered=None)  # overdue only after now
    assert on_time.overdue_at < NOW and late.overdue_at < NOW
    assert kpis.followup_sla(scope(store))[store.pk] == (1, 3)
    case = FeedbackCase.objects.create(store=store, kind="complaint", channel="phone", text="x", created_at=f.at("2026-11-02"))
    SlaTimer.objects.create(case=case, kind="ack", amount=2, unit="hours", started_at=f.at("2026-11-02"), warn_at=f.at("2026-11-02"),
                            due_at=f.at("2026-11-02", "12:00"), met_at=f.at("2026-11-02", "11:00"))
    SlaTimer.objects.create(case=case, kind="contact", amount=1, unit="days", started_at=f.at("2026-11-02"), warn_at=f.at("2026-11-02"),
                            due_at=f.at("2026-11-03", "10:00"), met_at=f.at("2026-11-03", "11:00"))
    SlaTimer.objects.create(case=case, kind="resolve", amount=5, unit="days", started_at=f.at("2026-11-02"), warn_at=f.at("2026-11-02"),
                            due_at=f.at("2026-11-09", "10:00"))  # breached, still open
    assert kpis.case_sla(scope(store))[store.pk] == (1, 3)
    assert value("complaint_rate", kpis.complaint_rate(scope(store))) == Decimal("33.3")  # 1 complaint / 3 delivered in November


def test_show_rate_inspection_coverage_and_acceptance(store, tech):
    from aftersales.appointments.models import Appointment, Bay, ServiceType

    st = ServiceType.objects.create(store=store, code="svc", name_zh="保养", duration_minutes=60)
    bay = Bay.objects.create(store=store, name="1")
    c = f.customer(store)
    v = f.vehicle(c)
    advisor = make_staff(Role.SERVICE_ADVISOR, store)

    def book(day, status="booked"):
        return Appointment.objects.create(store=store, customer=c, vehicle=v, service_type=st, bay=bay, start=f.at(day),
                                          end=f.at(day, "11:00"), status=status, advisor=advisor, technician=tech)

    showed = book("2026-11-02", "arrived")
    book("2026-11-03", "no_show")
    book("2026-11-04", "cancelled")
    o = f.order(store, c, v, opened=f.at("2026-11-02"))
    o.appointment = showed
    o.save()
    assert kpis.show_rate(scope(store))[store.pk] == (1, 2)
    f.order(store, c, v, opened=f.at("2026-11-05"))
    Inspection.objects.create(store=store, order=o, checklist_name_zh="检查")
    assert kpis.inspection_coverage(scope(store))[store.pk] == (1, 2)
    f.job(o, is_additional=True, status="authorized")
    f.job(o, is_additional=True, status="declined")
    f.job(o, is_additional=True, status="proposed")  # not decided yet
    f.job(o, is_additional=False, status="declined")  # the customer's own request
    assert kpis.acceptance(scope(store))[store.pk] == (1, 2)


def test_parts_turnover_and_stock_over_180_days(store):
    part = Part.objects.create(group=store.group, number="P-1", name_zh="机油")
    part2 = Part.objects.create(group=store.group, number="P-2", name_zh="滤芯")
    StockItem.objects.create(store=store, part=part, on_hand=Decimal("10"), avg_cost=Decimal("30"), last_movement_at=NOW - dt.timedelta(days=181))
    StockItem.objects.create(store=store, part=part2, on_hand=Decimal("10"), avg_cost=Decimal("10"), last_movement_at=NOW - dt.timedelta(days=10))
    assert value("stale_stock", kpis.stale_stock(scope(store))) == Decimal("75.0")  # 300 of 400


def test_first_service_conversion(store):
    c = f.customer(store)
    on_time = f.vehicle(c, purchase_date=dt.date(2026, 8, 10), selling_store=store)  # due 2026-11-10
    late = f.vehicle(c, purchase_date=dt.date(2026, 8, 20), selling_store=store)  # due 2026-11-20, visit after due + 30 days
    f.vehicle(c, purchase_date=dt.date(2026, 8, 25), selling_store=store)  # due 2026-11-25, never came
    f.vehicle(c, purchase_date=dt.date(2026, 9, 1), selling_store=store)  # due in December: not in the period
    f.order(store, c, on_time, opened=f.at("2026-11-08"))
    f.order(store, c, late, opened=f.at("2026-12-21"))
    assert kpis.first_service(scope(store, now=f.at("2027-01-10")))[store.pk] == (1, 3)


def test_winback_returns_within_90_days(store):
    from aftersales.care.models import Enrolment, Playbook

    pb = Playbook.objects.create(store=store, name="win back", trigger="tier_entered", tier="D")
    back, silent = f.customer(store), f.customer(store)
    Enrolment.objects.create(playbook=pb, customer=back, store=store, trigger_key="a", contacted_at=f.at("2026-11-02"))
    Enrolment.objects.create(playbook=pb, customer=silent, store=store, trigger_key="b", contacted_at=f.at("2026-11-03"))
    Enrolment.objects.create(playbook=pb, customer=silent, store=store, trigger_key="c", contacted_at=f.at("2026-11-03"), is_holdout=True)
    f.paid_visit(store, back, "2026-12-20")
    f.paid_visit(store, silent, "2027-02-05")  # 94 days later
    assert kpis.winback(scope(store, now=f.at("2027-03-01")))[store.pk] == (1, 2)


def test_rag_against_target():
    csat, churn = kpis.BY_CODE["csat"], kpis.BY_CODE["churn"]
    assert kpis.rag(csat, Decimal("90"), Decimal("90")) == "green"
    assert kpis.rag(csat, Decimal("81"), Decimal("90")) == "amber"
    assert kpis.rag(csat, Decimal("80.9"), Decimal("90")) == "red"
    assert kpis.rag(churn, Decimal("5"), Decimal("5")) == "green"
    assert kpis.rag(churn, Decimal("6"), Decimal("5")) == "amber"
    assert kpis.rag(churn, Decimal("6.1"), Decimal("5")) == "red"
    assert kpis.rag(csat, None, Decimal("90")) == ""


def test_defaults_are_the_spec_targets(store):
    s = KpiSettings(store=store)
    assert (s.csat_target, s.nps_target, s.repurchase_target, s.churn_target, s.waiting_target, s.waiting_cut_target,
            s.profit_share_target, s.winback_target, s.first_service_target, s.accuracy_target) == (
        90, 50, 85, 5, 30, -30, 55, 20, 100, 98)


def test_each_kpi_uses_a_constant_number_of_queries(store, tech):
    def count():
        with CaptureQueriesContext(connection) as ctx:
            for k in kpis.KPIS:
                k.compute(scope(store))
        return len(ctx.captured_queries)

    _invoice_with_lines(store, tech, "2026-11-10")
    small = count()
    for day in ("2026-11-11", "2026-11-12", "2026-11-13"):
        _invoice_with_lines(store, tech, day)
        f.paid_visit(store, f.customer(store), day)
    assert count() == small
