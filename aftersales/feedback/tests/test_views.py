"""Screens: scoping (other store → 404, wrong role → 403, anonymous → login), the queue sorted by time left, the
call script, the survey page (one answer, expiry, tampered link, both languages), the public form with photos,
the monthly report, routing and the 360 page's section."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from aftersales.feedback import services
from aftersales.feedback.models import CasePhoto, FeedbackCase, FollowUp, ImprovementAction, RoutingRule

from .conftest import answer_all, deliver

pytestmark = pytest.mark.django_db


def _case(loop, store=None, text="等了三个小时车还没修好"):
    store = store or loop.store
    actor = loop.world.advisor if store == loop.store else loop.world.advisor_b
    return services.case_create(actor=actor, store=store, kind="complaint", channel="phone", text=text)


def _png(size=(8, 8)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buf, format="PNG")
    return buf.getvalue()


STAFF_URLS = ["/feedback/", "/feedback/cases/new/", "/feedback/followups/", "/feedback/report/", "/feedback/routing/"]


def test_anonymous_is_sent_to_login(client, loop):
    case = _case(loop)
    followup = services.followup_create_for_order(order=deliver(loop.world, loop.vehicle))
    for url in [*STAFF_URLS, f"/feedback/cases/{case.pk}/", f"/feedback/followups/{followup.pk}/"]:
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"], url
    response = client.post(f"/feedback/cases/{case.pk}/action/", {"action": "move", "to": "acknowledged"})
    assert response.status_code == 302 and FeedbackCase.objects.get(pk=case.pk).status == "new"


def test_roles(client, loop):
    client.force_login(loop.world.technician)
    for url in STAFF_URLS:
        assert client.get(url).status_code == 403, url
    client.force_login(loop.agent)  # call centre: follow-ups, may record a complaint, no report or routing
    assert client.get("/feedback/followups/").status_code == 200
    assert client.get("/feedback/cases/new/").status_code == 200
    assert client.get("/feedback/report/").status_code == 403
    assert client.get("/feedback/routing/").status_code == 403
    client.force_login(loop.world.advisor)  # advisors handle cases, do not answer follow-ups or see the report
    assert client.get("/feedback/").status_code == 200
    assert client.get("/feedback/report/").status_code == 403
    followup = services.followup_create_for_order(order=deliver(loop.world, loop.vehicle))
    assert client.post(f"/feedback/followups/{followup.pk}/", answer_all(9)).status_code == 403
    client.force_login(loop.world.manager)
    for url in STAFF_URLS:
        assert client.get(url).status_code == 200, url


def test_other_stores_case_and_followup_are_404(client, loop):
    case = _case(loop)
    followup = services.followup_create_for_order(order=deliver(loop.world, loop.vehicle))
    client.force_login(loop.world.manager_b)
    assert client.get(f"/feedback/cases/{case.pk}/").status_code == 404
    assert client.post(f"/feedback/cases/{case.pk}/action/", {"action": "move", "to": "acknowledged"}).status_code == 404
    assert client.get(f"/feedback/followups/{followup.pk}/").status_code == 404
    assert client.post(f"/feedback/followups/{followup.pk}/", answer_all(9)).status_code == 404
    assert client.get(f"/feedback/?store={loop.store.pk}").status_code == 404
    assert FeedbackCase.objects.get(pk=case.pk).status == "new"
    assert FollowUp.objects.get(pk=followup.pk).status == "open"
    page = client.get("/feedback/").content.decode()
    assert f">{case.pk}</a>" not in page


def test_queue_is_sorted_by_time_left(client, loop):
    later = _case(loop, text="The lounge WiFi does not work")
    urgent = _case(loop, text="刹车还是有异响")
    from aftersales.feedback.models import SlaTimer

    SlaTimer.objects.filter(case=urgent).update(due_at=timezone.now() - dt.timedelta(minutes=5))
    client.force_login(loop.world.manager)
    page = client.get("/feedback/").content.decode()
    assert page.index(f">{urgent.pk}</a>") < page.index(f">{later.pk}</a>")
    assert "overdue" in page


def test_case_actions_and_inline_errors(client, loop):
    case = _case(loop)
    client.force_login(loop.world.advisor)
    url = f"/feedback/cases/{case.pk}/action/"
    assert client.post(url, {"action": "move", "to": "acknowledged"}).status_code == 302
    assert client.post(url, {"action": "move", "to": "in_progress"}).status_code == 302
    response = client.post(url, {"action": "move", "to": "resolved", "resolution": ""})
    assert response.status_code == 422 and "Write down what was done." in response.content.decode()
    assert FeedbackCase.objects.get(pk=case.pk).status == "in_progress"
    response = client.post(url, {"action": "move", "to": "closed"})
    assert response.status_code == 422  # illegal move: refused, nothing written
    assert client.post(url, {"action": "pause", "note": "等客户照片"}).status_code == 403  # managers only
    assert client.post(url, {"action": "label", "category": "price"}).status_code == 302
    assert FeedbackCase.objects.get(pk=case.pk).category == "price"
    assert client.post(url, {"action": "move", "to": "resolved", "resolution": "免费复检"}).status_code == 302
    page = client.get(f"/feedback/cases/{case.pk}/").content.decode()
    assert 'data-testid="timeline"' in page and "免费复检" in page


def test_staff_form_links_customer_and_refuses_unknown_mobile(client, loop):
    client.force_login(loop.world.advisor)
    response = client.post(f"/feedback/cases/new/?store={loop.store.pk}", {
        "kind": "complaint", "channel": "phone", "mobile": "13800000000", "text": "态度很差"})
    assert response.status_code == 200 and "No customer with this mobile number." in response.content.decode()
    assert not FeedbackCase.objects.exists()
    response = client.post(f"/feedback/cases/new/?store={loop.store.pk}", {
        "kind": "complaint", "channel": "box", "mobile": loop.customer.mobile, "plate": "粤B12345", "text": "前台态度很差，爱理不理"})
    assert response.status_code == 302
    case = FeedbackCase.objects.get()
    assert case.customer == loop.customer and case.vehicle == loop.vehicle and case.channel == "box"


def test_call_script_records_answers_and_not_reached(client, loop):
    followup = services.followup_create_for_order(order=deliver(loop.world, loop.caller_car))
    client.force_login(loop.agent)
    page = client.get("/feedback/followups/").content.decode()
    assert loop.caller.name in page
    response = client.post(f"/feedback/followups/{followup.pk}/", {"action": "not_reached", "note": "无人接听"})
    assert response.status_code == 302
    followup.refresh_from_db()
    assert followup.attempts == 1
    response = client.post(f"/feedback/followups/{followup.pk}/", answer_all(9, price=""))
    assert response.status_code == 422
    response = client.post(f"/feedback/followups/{followup.pk}/", {**answer_all(9, price=5), "suggestions": ""})
    assert response.status_code == 302
    followup.refresh_from_db()
    assert followup.status == "answered" and followup.score_price == 5
    assert FeedbackCase.objects.get().kind == "recovery"


# ---- the survey page ------------------------------------------------------------------------------------------------
def test_survey_once_in_both_languages(client, loop):
    followup = services.followup_create_for_order(order=deliver(loop.world, loop.vehicle))
    url = f"/s/{services.survey_token(followup)}/"
    assert "评分" in client.get(url).content.decode() or "服务态度" in client.get(url).content.decode()
    assert "Service attitude" in client.get(url + "?lang=en").content.decode()
    response = client.post(url, {**answer_all(10), "suggestions": "", "lang": "en"})
    assert response.status_code == 200 and 'data-testid="survey-thanks"' in response.content.decode()
    again = client.post(url, {**answer_all(2), "suggestions": ""})
    assert again.status_code == 410 and 'data-testid="survey-answered"' in again.content.decode()
    followup.refresh_from_db()
    assert followup.score_attitude == 10 and followup.status == "answered"


def test_survey_expired_and_tampered(client, loop):
    followup = services.followup_create_for_order(order=deliver(loop.world, loop.vehicle))
    token = services.survey_token(followup)
    bad = client.get(f"/s/{token[:-3]}xyz/")
    assert bad.status_code == 404
    FollowUp.objects.filter(pk=followup.pk).update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    response = client.post(f"/s/{token}/", {**answer_all(9), "suggestions": ""})
    assert response.status_code == 410 and 'data-testid="survey-expired"' in response.content.decode()
    followup.refresh_from_db()
    assert followup.status == "open" and followup.score_attitude is None


def test_survey_invalid_score_is_an_inline_error(client, loop):
    followup = services.followup_create_for_order(order=deliver(loop.world, loop.vehicle))
    response = client.post(f"/s/{services.survey_token(followup)}/", {**answer_all(9, waiting=12), "suggestions": "", "lang": "en"})
    assert response.status_code == 422 and 'data-field="waiting"' in response.content.decode()
    assert FollowUp.objects.get(pk=followup.pk).status == "open"


# ---- the public form ----------------------------------------------------------------------------------------------
def _public(client, loop, **files):
    data = {"kind": "complaint", "name": "张伟", "mobile": loop.customer.mobile, "plate": "粤B12345",
            "text": "洗车后车身有划痕", "lang": "en", **files}
    return client.post(f"/feedback/submit/{loop.store.pk}/", data)


def test_public_form_with_a_photo_links_the_customer(client, loop, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    response = _public(client, loop, photos=SimpleUploadedFile("scratch.png", _png(), content_type="image/png"))
    assert response.status_code == 200 and 'data-testid="public-thanks"' in response.content.decode()
    case = FeedbackCase.objects.get()
    assert case.channel == "portal" and case.customer == loop.customer and case.vehicle == loop.vehicle
    photo = CasePhoto.objects.get(case=case)
    assert photo.content_type == "image/png"
    url = f"/feedback/cases/{case.pk}/photos/{photo.pk}/"
    assert client.get(url).status_code == 302  # not public: staff who may see the case only
    client.force_login(loop.world.manager_b)
    assert client.get(url).status_code == 404
    client.force_login(loop.world.advisor)
    assert url in client.get(f"/feedback/cases/{case.pk}/").content.decode()
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    with Image.open(io.BytesIO(b"".join(response.streaming_content))) as served:  # re-written without metadata
        assert served.format == "PNG" and served.size == (8, 8) and served.convert("RGB").getpixel((1, 1)) == (200, 30, 30)


def test_public_form_photo_is_stored_without_the_phones_gps(client, loop, settings, tmp_path):
    from aftersales.common.tests.test_uploads import has_metadata, phone_photo

    settings.MEDIA_ROOT = tmp_path
    photo = SimpleUploadedFile("scratch.jpg", phone_photo(), content_type="image/jpeg")
    assert _public(client, loop, photos=photo).status_code == 200
    stored = CasePhoto.objects.get()
    stored.image.open("rb")
    content = stored.image.read()
    stored.image.close()
    assert not has_metadata(content) and stored.size == len(content)


def test_public_form_refuses_non_images_and_large_files(client, loop, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    fake = SimpleUploadedFile("photo.jpg", b"%PDF-1.4 not an image", content_type="image/jpeg")
    response = _public(client, loop, photos=fake)
    assert response.status_code == 422 and "images only" in response.content.decode()
    big = SimpleUploadedFile("big.png", _png() + b"\0" * (5 * 1024 * 1024), content_type="image/png")
    response = _public(client, loop, photos=big)
    assert response.status_code == 422 and "5 MB" in response.content.decode()
    assert not FeedbackCase.objects.exists() and not CasePhoto.objects.exists()


# ---- report, routing, 360 -----------------------------------------------------------------------------------------
def test_report_shows_csat_nps_and_an_action_with_before_after(client, loop):
    f1 = services.followup_create_for_order(order=deliver(loop.world, loop.vehicle))
    services.followup_answer(followup=f1, scores=answer_all(9, recommend=10))
    f2 = services.followup_create_for_order(order=deliver(loop.world, loop.vehicle))
    services.followup_answer(followup=f2, scores=answer_all(9, waiting=6, recommend=5))
    client.force_login(loop.world.manager)
    today = timezone.localdate()
    response = client.post(f"/feedback/report/?store={loop.store.pk}", {
        "category": "waiting", "title": "增加快修工位", "owner": str(loop.world.manager.pk), "start_date": today.isoformat()})
    assert response.status_code == 302
    assert ImprovementAction.objects.get().title == "增加快修工位"
    page = client.get(f"/feedback/report/?store={loop.store.pk}").content.decode()
    assert "87.5%" in page  # 7 of 8 satisfaction scores are 8–10
    assert ">0.0<" in page  # NPS: one promoter, one detractor
    assert "增加快修工位" in page


def test_routing_table_sets_the_owner(client, loop):
    client.force_login(loop.world.manager)
    foreman = loop.world.staff["foreman"]
    response = client.post(f"/feedback/routing/?store={loop.store.pk}", {"owner_waiting": str(foreman.pk)})
    assert response.status_code == 302
    assert RoutingRule.objects.get(store=loop.store, category="waiting").owner == foreman
    assert _case(loop).owner == foreman


def test_queue_query_count_does_not_grow(client, loop):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(loop.world.manager)
    _case(loop)
    client.get("/feedback/")  # warm: the auth context is cached after the first request
    with CaptureQueriesContext(connection) as few:
        assert client.get("/feedback/").status_code == 200
    for i in range(8):
        _case(loop, text=f"刹车异响 {i}")
    with CaptureQueriesContext(connection) as many:
        assert client.get("/feedback/").status_code == 200
    assert len(many.captured_queries) == len(few.captured_queries) <= 12


def test_open_cases_for_customer_is_scoped(loop):
    from aftersales.feedback.selectors import open_cases_for_customer

    case = services.case_create(actor=loop.world.advisor, store=loop.store, kind="complaint", channel="phone",
                                text="刹车异响", customer=loop.customer)
    assert [c.pk for c in open_cases_for_customer(user=loop.world.advisor, customer=loop.customer)] == [case.pk]
    assert open_cases_for_customer(user=loop.world.advisor_b, customer=loop.customer) == []
    assert open_cases_for_customer(user=loop.world.technician, customer=loop.customer) == []
    services.case_transition(actor=loop.world.advisor, case=case, to="acknowledged")
    services.case_transition(actor=loop.world.advisor, case=case, to="in_progress")
    services.case_transition(actor=loop.world.advisor, case=case, to="resolved", resolution="已更换刹车片")
    assert open_cases_for_customer(user=loop.world.advisor, customer=loop.customer) == []


def test_customer_360_lists_scores_and_cases(client, loop):
    followup = services.followup_create_for_order(order=deliver(loop.world, loop.vehicle))
    services.followup_answer(followup=followup, scores=answer_all(9, waiting=6), suggestions="")
    client.force_login(loop.world.advisor)
    page = client.get(f"/customers/{loop.customer.pk}/").content.decode()
    assert 'data-testid="followup-scores"' in page and 'data-testid="feedback-case"' in page
    client.force_login(loop.world.advisor_b)
    assert client.get(f"/customers/{loop.customer.pk}/").status_code == 404


def test_public_form_tells_the_customer_what_happens_to_their_data(client, loop):
    """PIPL: people are told what is collected, why, who sees it and how to have it deleted, before they send it,
    in the language of the page."""
    loop.store.phone = "020-8888 6666"
    loop.store.save(update_fields=["phone"])
    page = client.get(f"/feedback/submit/{loop.store.pk}/?lang=en").content.decode()
    notice = page[page.index('data-testid="privacy-notice"'):page.index('data-testid="public-submit"')]
    assert "only to handle this complaint" in notice and "020-8888 6666" in notice and "not used for marketing" in notice
    page = client.get(f"/feedback/submit/{loop.store.pk}/?lang=zh-hans").content.decode()
    notice = page[page.index('data-testid="privacy-notice"'):page.index('data-testid="public-submit"')]
    assert "个人信息" in notice and "020-8888 6666" in notice
