"""Job titles, line descriptions and part names in the reader's language (issue 16): the order page in the staff
member's language, the approval and status pages in the customer's, whatever language the names were written in
when the jobs were priced (the labour guide's and the catalogue's other name, one half of "中文 / English")."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from aftersales.estimates import services
from aftersales.workshop.choices import LineKind

pytestmark = pytest.mark.django_db
CJK = re.compile(r"[\u3400-\u9fff]")

CHINESE = ["更换前刹车片", "原厂配件", "副厂配件", "丰田前刹车片", "博世前刹车片", "全车检测", "洗车费"]
ENGLISH = ["Replace front brake pads", "OEM parts", "Aftermarket parts", "Toyota front brake pads", "Bosch front brake pads",
           "Vehicle inspection", "Car wash fee"]


def priced(world, shop) -> None:
    """Brake pads from the guide with both options, and a job written in both languages with a fee line."""
    services.estimate_add_operation(actor=world.advisor, order=shop.order, operation=shop.brakes, part_choice="both")
    services.estimate_add_job(
        actor=world.advisor, order=shop.order, title="全车检测 / Vehicle inspection", job_type="other",
        lines=[{"kind": LineKind.FEE, "description": "洗车费 / Car wash fee", "quantity": 1, "unit_price": "30.00"}],
    )


def staff(user, language: str) -> Client:
    user.language = language
    user.save(update_fields=["language"])
    client = Client()
    client.force_login(user)
    return client


def set_language(customer, language: str) -> None:
    customer.language = language
    customer.save(update_fields=["language"])


def names_of(page: str, words: list[str]) -> list[str]:
    return [w for w in words if w in page]


def test_order_page_in_english_for_a_chinese_customers_jobs(world, shop):
    priced(world, shop)  # priced for a Chinese customer: titles and lines written in Chinese
    page = staff(world.advisor, "en").get(f"/orders/{shop.order.pk}/").content.decode()
    assert names_of(page, ENGLISH) == ENGLISH
    assert names_of(page, CHINESE) == []
    jobs = re.findall(r'data-testid="estimate-job"><td>(.*?)</td>', page, re.S)
    assert jobs and not any(CJK.search(j) for j in jobs), jobs


def test_order_page_in_chinese_for_an_english_customers_jobs(world, shop):
    set_language(shop.customer, "en")
    priced(world, shop)  # written in English now
    assert "Replace front brake pads" in shop.order.jobs.first().title
    page = staff(world.advisor, "zh-hans").get(f"/orders/{shop.order.pk}/").content.decode()
    assert names_of(page, CHINESE) == CHINESE
    assert names_of(page, ["Replace front brake pads", "Toyota front brake pads", "Vehicle inspection", "Car wash fee"]) == []


def test_a_title_a_person_typed_stays_as_written(world, shop):
    services.estimate_add_job(actor=world.advisor, order=shop.order, title="检查异响", job_type="repair", hours="1")
    page = staff(world.advisor, "en").get(f"/orders/{shop.order.pk}/").content.decode()
    assert "检查异响" in page


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_approval_and_status_pages_in_the_customers_language(world, shop, language):
    set_language(shop.customer, "en" if language == "zh-hans" else "zh-hans")  # priced in the other language
    priced(world, shop)
    estimate = services.estimate_send(actor=world.advisor, order=shop.order)
    set_language(shop.customer, language)  # then the customer changed their language
    anon = Client()
    approval = anon.get(f"/e/{services.approval_token(estimate)}/").content.decode()
    status = anon.get(f"/o/{services.status_token(shop.order)}/").content.decode()
    wanted, unwanted = (ENGLISH, CHINESE) if language == "en" else (CHINESE, ENGLISH)
    assert names_of(approval, wanted) == wanted
    assert names_of(approval, unwanted) == []
    assert names_of(status, ["Replace front brake pads", "Vehicle inspection"] if language == "en" else ["更换前刹车片", "全车检测"])
    assert names_of(status, unwanted) == []
    if language == "en":
        titles = re.findall(r'data-testid="status-job">(.*?)<', status, re.S)
        assert titles and not any(CJK.search(t) for t in titles), titles


def test_the_filters_without_a_guide_match_keep_the_text():
    from types import SimpleNamespace

    from django.template import Context, Template
    from django.utils.translation import override

    page = Template("{% load aftersales %}{{ job|job_title }}|{{ title|guide_name:None }}|{{ label|option_label }}")
    job = {"title": "更换机油 / Oil change"}
    with override("en"):
        assert page.render(Context({"job": job, "title": "更换机油 · 原厂配件", "label": "副厂配件"})) == (
            "Oil change|更换机油 · OEM parts|Aftermarket parts"
        )
    with override("zh-hans"):
        assert page.render(Context({"job": SimpleNamespace(title="Oil change", order=None), "title": "", "label": "OEM parts"})) == (
            "Oil change||原厂配件"
        )
