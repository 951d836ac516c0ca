"""A store that switches to us keeps its customers: history imported from its previous system counts as history for
the care sweep (the last service), the win-back playbooks (tier D, inactivity) and the customer 360 page."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from aftersales.care.choices import ReminderKind, TriggerKind
from aftersales.care.models import Enrolment, Playbook, PlaybookStep, Reminder
from aftersales.care.services import create_default_playbooks, playbook_activate, playbooks_enrol, reminder_sweep
from aftersales.common.tests.factories import make_vin
from aftersales.customers.models import Customer
from aftersales.engagement.models import CustomerTier
from aftersales.engagement.services import import_job_create, import_job_process, import_job_start
from aftersales.vehicles.models import Vehicle

D = dt.date
HEADER = "date,store,mobile,name,vin,plate,make,model,mileage,amount,refunded,items,visit_id"


def run_import(world, *lines: str) -> None:
    data = ("\n".join([HEADER, *lines]) + "\n").encode()
    job, _preview = import_job_create(actor=world.admin, store=world.a, name="history.csv", data=data)
    import_job_start(actor=world.admin, job=job)
    import_job_process(job_id=job.pk)


@pytest.fixture
def imported(world):
    """张三: serviced in March 2026 at the old system (a car with no purchase date); 李四: last came in January 2025
    (tier D); 王五: a customer of store B (not visible to store A's staff)."""
    vins = [make_vin() for _ in range(3)]
    run_import(
        world,
        f"2025-09-20,a,13800138001,张三,{vins[0]},粤A12345,Toyota,Camry,8000,900.00,,更换雨刮,OLD-1",
        f"2026-03-02,a,13800138001,张三,{vins[0]},粤A12345,Toyota,Camry,12000,1500.00,100.00,机油保养,OLD-2",
        f"2025-01-10,a,13800138002,李四,{vins[1]},粤A22222,Honda,Accord,30000,680.00,,小保养,OLD-3",
        f"2025-02-10,b,13800138003,王五,{vins[2]},粤B33333,Honda,Fit,20000,500.00,,保养,OLD-4",
    )
    return {
        "zhang": Customer.objects.get(mobile="+8613800138001"), "li": Customer.objects.get(mobile="+8613800138002"),
        "wang": Customer.objects.get(mobile="+8613800138003"), "car": Vehicle.objects.get(vin=vins[0]),
    }


def test_an_imported_maintenance_visit_is_the_last_service_for_the_sweep(world, imported):
    """The old code looked only at our repair orders: an imported car never got a maintenance due date."""
    car = imported["car"]
    reminder_sweep(today=D(2026, 8, 25), send=False)
    assert not Reminder.objects.filter(vehicle=car, kind=ReminderKind.MAINTENANCE).exists()
    reminder_sweep(today=D(2026, 8, 26), send=False)  # 6 months after 2026-03-02, 7 days before
    (r,) = Reminder.objects.filter(vehicle=car, kind=ReminderKind.MAINTENANCE)
    assert (r.due_date, r.store_id, r.customer_id) == (D(2026, 9, 2), world.a.pk, imported["zhang"].pk)
    assert r.due_km == 22000  # the imported mileage + the plan's 10,000 km
    # 李四's imported 小保养 (January 2025) made him due in July 2025: long past, nothing new fires for it today
    assert not Reminder.objects.filter(customer=imported["li"], due_date__gte=D(2026, 8, 19)).exists()


def test_an_import_after_the_due_table_was_built_is_picked_up_by_the_next_sweep(world):
    """The due table is refreshed for the vehicles that changed: an imported visit without a mileage reading changes
    the vehicle too."""
    vin = make_vin()
    reminder_sweep(today=D(2026, 8, 1), send=False)
    run_import(world, f"2026-03-02,a,13800138009,赵六,{vin},粤A99999,Toyota,Camry,,1500.00,,保养,OLD-9")
    reminder_sweep(today=D(2026, 8, 26), send=False)
    (r,) = Reminder.objects.filter(vehicle__vin=vin, kind=ReminderKind.MAINTENANCE)
    assert r.due_date == D(2026, 9, 2)


def test_imported_tier_d_customers_enter_the_win_back_playbooks(world, imported):
    """The shipped D playbook (tier D) and an inactivity playbook both enrol the customer whose only visits are
    imported; the old code saw neither (tier changes of the last days only, our repair orders only)."""
    now = timezone.now()  # the import computed the tiers as of today: the playbooks run on the same clock
    assert CustomerTier.objects.get(customer=imported["li"]).tier == "D"
    (d,) = [p for p in create_default_playbooks(world.a) if p.code == "tier-d"]
    playbooks_enrol(now=now)
    in_d = set(CustomerTier.objects.filter(tier="D", customer__home_store=world.a).values_list("customer_id", flat=True))
    assert imported["li"].pk in in_d and imported["wang"].pk not in in_d
    assert set(Enrolment.objects.filter(playbook=d).values_list("customer_id", flat=True)) == in_d
    inactive = Playbook.objects.create(store=world.a, code="lapsed", name="lapsed", trigger=TriggerKind.INACTIVITY,
                                       inactivity_days=182, holdout_percent=0)
    PlaybookStep.objects.create(playbook=inactive, seq=1, kind="message", message_kind="care.recall", text="免费检查")
    playbook_activate(actor=world.manager, playbook=inactive, now=now)  # back-enrols on activation
    lapsed = {imported["li"].pk: "inactive:2025-01-10"}
    if D(2026, 3, 2) <= timezone.localdate() - dt.timedelta(days=182):  # 张三 has lapsed too by now
        lapsed[imported["zhang"].pk] = "inactive:2026-03-02"
    assert dict(Enrolment.objects.filter(playbook=inactive).values_list("customer_id", "trigger_key")) == lapsed
    playbooks_enrol(now=now + dt.timedelta(days=1))
    assert Enrolment.objects.filter(playbook=inactive).count() == len(lapsed)  # once per episode


def test_the_360_page_lists_imported_visits_with_the_totals(client, world, imported):
    zhang = imported["zhang"]
    client.force_login(world.advisor)
    page = client.get(f"/customers/{zhang.pk}/").content.decode()
    history = page.split('id="visits"')[1].split("</section>")[0]
    assert history.count('data-imported="1"') == 2
    assert history.index("2026-03-02") < history.index("2025-09-20")  # newest first
    assert "机油保养" in history and "12,000 km" in history
    totals = history.split('data-testid="visit-totals"')[1].split("</span>")[0]
    assert "2" in totals and "2,300.00" in totals  # 900 + 1,500 − 100 refunded
    assert "2026-03-02" in page.split('id="profile"')[1].split("</section>")[0]  # last visit
    tier_card = page.split('data-testid="tier-panel"')[1].split("</section>")[0]
    assert "<table" not in tier_card and 'href="#visits"' in tier_card  # no cramped table in the tier card
    # another store's staff: the customer is not theirs
    client.force_login(world.advisor_b)
    assert client.get(f"/customers/{zhang.pk}/").status_code == 404
    page = client.get(f"/customers/{imported['wang'].pk}/").content.decode()
    assert page.split('id="visits"')[1].split("</section>")[0].count('data-imported="1"') == 1


def test_the_360_page_shows_what_is_due_next_from_the_care_table(client, world, imported):
    """The old list showed every warranty end, years in the past included, and never the next service."""
    car = imported["car"]
    car.warranty_end, car.insurance_expiry = D(2020, 5, 1), None  # ended long ago: history, not a reminder
    car.save()
    other = Vehicle.objects.get(owner=imported["li"])
    reminder_sweep(today=D(2026, 8, 26), send=False)  # the care table: 张三's next maintenance 2026-09-02 / 22,000 km
    client.force_login(world.advisor)
    page = client.get(f"/customers/{imported['zhang'].pk}/").content.decode()
    upcoming = page.split('id="reminders"')[1].split("</section>")[0]
    assert 'data-kind="maintenance"' in upcoming and "2026-09-02" in upcoming and "22,000 km" in upcoming
    assert "2020-05-01" not in upcoming and 'data-kind="warranty"' not in upcoming
    car.warranty_end = D(2099, 5, 1)
    car.save()
    upcoming = client.get(f"/customers/{imported['zhang'].pk}/").content.decode().split('id="reminders"')[1]
    assert 'data-kind="warranty"' in upcoming.split("</section>")[0]
    assert other.plate not in upcoming.split("</section>")[0]  # another customer's car is not listed
