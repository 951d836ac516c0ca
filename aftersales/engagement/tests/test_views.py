"""Staff screens: scoping (other store → 404, wrong role → 403, anonymous → login), import preview/run, segments."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from aftersales.common.tests.factories import CustomerFactory, make_vin
from aftersales.customers.models import Customer
from aftersales.engagement.models import DedicatedAdvisor, ImportedVisit, ImportJob, Segment, TierSettings
from aftersales.engagement.services import tier_recompute_all

from .helpers import imported

pytestmark = pytest.mark.django_db


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def loyal(world):
    customer = CustomerFactory(home_store=world.a, name="王忠诚")
    for day in (dt.date(2026, 3, 1), dt.date(2026, 5, 1), dt.date(2026, 7, 1), dt.date(2026, 11, 1)):
        imported(customer, day, "4000")
    tier_recompute_all()
    return customer


PAGES = ["engagement:report", "engagement:import", "engagement:segment_list", "engagement:segment_new",
         "engagement:settings"]


@pytest.mark.parametrize("name", PAGES)
def test_anonymous_goes_to_login(world, name):
    response = Client().get(reverse(name))
    assert response.status_code == 302 and "/login" in response["Location"]


@pytest.mark.parametrize(("name", "role_ok", "role_denied"), [
    ("engagement:report", "service_advisor", "technician"),
    ("engagement:segment_list", "call_centre_agent", "technician"),
    ("engagement:import", "store_manager", "service_advisor"),
    ("engagement:settings", "store_manager", "service_advisor"),
])
def test_roles(world, name, role_ok, role_denied):
    assert client_for(world.staff[role_ok]).get(reverse(name)).status_code == 200
    assert client_for(world.staff[role_denied]).get(reverse(name)).status_code == 403


def test_customer_360_shows_tier_and_why(world, loyal):
    response = client_for(world.advisor).get(reverse("web:customer_detail", args=[loyal.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="tier-letter">A<' in html and 'data-testid="priority-lane"' in html
    assert "F 4" in html
    assert 'data-testid="imported-visits"' in html and "2026-11-01" in html  # imported history on the 360


def test_assign_dedicated_advisor_from_360(world, loyal):
    url = reverse("engagement:advisor_assign", args=[loyal.pk])
    assert client_for(world.advisor).post(url, {"advisor": world.advisor.pk}).status_code == 403
    response = client_for(world.manager).post(url, {"advisor": world.advisor.pk})
    assert response.status_code == 302
    assert DedicatedAdvisor.objects.get(customer=loyal).advisor_id == world.advisor.pk
    other = CustomerFactory(home_store=world.b)
    assert client_for(world.manager).post(reverse("engagement:advisor_assign", args=[other.pk]),
                                          {"advisor": world.advisor.pk}).status_code == 404


def test_import_preview_then_run(world):
    vin = make_vin()
    data = (f"日期,手机,姓名,车架号,品牌,车型,实收金额\n2026-05-01,13800138000,周九,{vin},Toyota,Corolla,880\n"
            "2026-05-02,123,坏行,,,,x\n").encode()
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = client_for(world.manager)
    response = client.post(reverse("engagement:import"),
                           {"store": world.a.pk, "file": SimpleUploadedFile("h.csv", data, "text/csv")})
    assert response.status_code == 302
    job = ImportJob.objects.get()
    page = client.get(response["Location"]).content.decode()
    assert 'data-testid="n-new">1<' in page and 'data-testid="n-errors">1<' in page
    assert ImportedVisit.objects.count() == 0  # nothing written by the preview
    client.post(reverse("engagement:import_run", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == "queued"
    running = client.get(reverse("engagement:import_detail", args=[job.pk]), headers={"HX-Request": "true"})
    assert 'hx-trigger="every 1s"' in running.content.decode()  # the page polls while the worker runs
    from aftersales.engagement.tasks import run_import

    run_import(job.pk)  # what the worker does with the task queued on commit
    job.refresh_from_db()
    assert (job.status, job.created_count, job.error_count) == ("done", 1, 1)
    partial = client.get(reverse("engagement:import_detail", args=[job.pk]), headers={"HX-Request": "true"})
    assert 'data-status="done"' in partial.content.decode() and "<html" not in partial.content.decode()
    # another store's manager cannot see the job
    assert client_for(world.manager_b).get(reverse("engagement:import_detail", args=[job.pk])).status_code == 404


def test_import_refuses_bad_file_inline(world):
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client_for(world.manager).post(
        reverse("engagement:import"), {"store": world.a.pk, "file": SimpleUploadedFile("h.txt", b"x", "text/plain")})
    assert response.status_code == 200
    assert 'data-field="file"' in response.content.decode()
    assert ImportJob.objects.count() == 0


def test_segment_builder_save_count_export(world, loyal):
    client = client_for(world.manager)
    count = client.post(reverse("engagement:segment_count"), {"tiers": ["A"]})
    assert 'data-testid="live-count">1<' in count.content.decode()
    bad = client.post(reverse("engagement:segment_count"), {"spend_min": "500", "spend_max": "100"})
    assert "live-count-error" in bad.content.decode()
    response = client.post(reverse("engagement:segment_new"), {"name": "忠诚客户", "tiers": ["A"], "store": world.a.pk})
    assert response.status_code == 302
    segment = Segment.objects.get()
    assert segment.criteria == {"store": str(world.a.pk), "tiers": ["A"]} or segment.criteria["tiers"] == ["A"]
    csv_body = client.get(reverse("engagement:segment_export", args=[segment.pk, "csv"])).content.decode("utf-8-sig")
    assert "王忠诚" in csv_body and csv_body.splitlines()[0].startswith("Customer ID,Name,Mobile,Home store,Tier")
    # a name that a spreadsheet would run as a formula stays text, in both formats; numbers and dates are typed
    import datetime as dt
    import io

    from openpyxl import load_workbook

    from aftersales.customers.models import Customer

    Customer.objects.filter(name="王忠诚").update(name='=HYPERLINK("http://evil.example","王忠诚")')
    csv_body = client.get(reverse("engagement:segment_export", args=[segment.pk, "csv"])).content.decode("utf-8-sig")
    assert """'=HYPERLINK(""http://evil.example""" in csv_body
    xlsx = client.get(reverse("engagement:segment_export", args=[segment.pk, "xlsx"]))
    assert xlsx.content[:2] == b"PK"
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    header, row = [c.value for c in sheet[1]], sheet[2]
    assert header[7] == "Spend, ¥ (M)" and header[9] == "Last paid visit"
    assert row[1].data_type == "s" and row[1].value.startswith("=HYPERLINK")  # text, not a formula
    assert isinstance(row[7].value, (int, float)) and row[7].value > 0 and row[7].number_format == "#,##0.00"
    assert isinstance(row[9].value, dt.datetime) and row[9].number_format == "yyyy-mm-dd"
    assert row[4].value == "A" and isinstance(row[6].value, int)
    # the advisor sees it but cannot export or change it; the other store cannot see it
    advisor = client_for(world.advisor)
    assert advisor.get(reverse("engagement:segment_edit", args=[segment.pk])).status_code == 200
    assert advisor.get(reverse("engagement:segment_export", args=[segment.pk, "csv"])).status_code == 403
    assert advisor.post(reverse("engagement:segment_edit", args=[segment.pk]), {"name": "x"}).status_code == 403
    assert client_for(world.manager_b).get(reverse("engagement:segment_edit", args=[segment.pk])).status_code == 404
    # invalid criteria: the form names the field, nothing saved
    response = client.post(reverse("engagement:segment_new"), {"name": "", "tiers": ["A"]})
    assert response.status_code == 200 and 'data-field="name"' in response.content.decode()
    assert Segment.objects.count() == 1


def test_settings_page(world):
    client = client_for(world.manager)
    data = {"a_recency_months": 3, "a_min_visits": 5, "a_min_amount": "20000", "c_new_months": 1,
            "d_lapsed_months": 6, "vip_percent": 80, "key_percent": 30, "insurance_days": 30}
    response = client.post(reverse("engagement:settings") + f"?store={world.a.pk}", data)
    assert response.status_code == 200 and 'data-field="key_percent"' in response.content.decode()
    assert not TierSettings.objects.filter(store=world.a, a_min_visits=5).exists()
    data["vip_percent"] = 10
    assert client.post(reverse("engagement:settings") + f"?store={world.a.pk}", data).status_code == 302
    assert TierSettings.objects.get(store=world.a).a_min_visits == 5
    assert client.get(reverse("engagement:settings") + f"?store={world.b.pk}").status_code == 404


def test_report_page(world, loyal):
    html = client_for(world.manager).get(reverse("engagement:report")).content.decode()
    assert 'data-testid="tier-counts"' in html and 'data-testid="churn-list"' in html


def test_commands(world, loyal, tmp_path, capsys):
    call_command("tiers", "--as-of", "2026-08-31", "--customer", str(loyal.pk))
    out = capsys.readouterr().out
    assert "tier B" in out and "F=3" in out  # the November visit is after the as-of date
    call_command("tiers", "--as-of", "2026-11-15", "--list")
    out = capsys.readouterr().out
    assert f"{loyal.pk},A,a_loyal" in out and "A=1" in out
    vin = make_vin()
    path = tmp_path / "h.csv"
    path.write_text(f"date,mobile,name,vin,make,model,amount\n2026-05-01,13800138111,新客,{vin},BYD,Han,600\n")
    call_command("import_history", str(path), "--user", world.admin.username, "--store", "a", "--apply")
    assert "1 visits created" in capsys.readouterr().out
    call_command("import_history", str(path), "--user", world.admin.username, "--store", "a", "--apply")
    assert "nothing new to import" in capsys.readouterr().out
    assert Customer.objects.filter(mobile="+8613800138111").count() == 1 and ImportedVisit.objects.filter(
        customer__mobile="+8613800138111").count() == 1


def test_tier_report_and_segment_count_a_stores_customers_alike(client, world):
    """The tier report's count for store A and tier B equals a segment "store A, tier B" (issue 15: B 78 vs 94): one
    definition (customers.selectors.store_customers: home store, not anonymised), stated on both pages."""
    import datetime as dt

    from aftersales.common.tests.factories import CustomerFactory
    from aftersales.customers.models import CustomerStore
    from aftersales.engagement.models import CustomerTier, Segment
    from aftersales.engagement.selectors import segment_customers, segmentation_report

    today = dt.date.today()

    def tiered(store, tier="B", **kwargs):
        c = CustomerFactory(group=world.group, home_store=store, **kwargs)
        CustomerTier.objects.create(customer=c, store=store, tier=tier, reason="b_active", computed_on=today, since=today)
        return c

    for _ in range(3):
        tiered(world.a)
    elsewhere = tiered(world.b)  # lives at B, also visited A
    CustomerStore.objects.get_or_create(customer=elsewhere, store=world.a)
    moved = tiered(world.b)  # moved from A to B: the tier row still names A until the nightly recompute
    CustomerTier.objects.filter(customer=moved).update(store=world.a)
    gone = tiered(world.a)
    gone.anonymised_at = gone.created_at
    gone.save(update_fields=["anonymised_at"])
    report = segmentation_report(world.admin)
    by_store = {row["store"].pk: row["counts"]["B"] for row in report["tiers"]}
    segment_a = Segment.objects.create(group=world.group, name="A 店潜力", criteria={"store": world.a.pk, "tiers": ["B"]})
    segment_b = Segment.objects.create(group=world.group, name="B 店潜力", criteria={"store": world.b.pk, "tiers": ["B"]})
    assert by_store[world.a.pk] == segment_customers(segment_a).count() == 3
    assert by_store[world.b.pk] == segment_customers(segment_b).count() == 2
    client.force_login(world.manager)
    assert 'data-testid="store-customers-meaning"' in client.get("/engagement/").content.decode()
