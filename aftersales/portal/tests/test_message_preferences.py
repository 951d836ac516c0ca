"""Issue 14, item 4: the owner chooses in "My data" how we reach them and how often (care reminders, progress during
a visit); every bad choice is named at once and nothing changes; the staff see and edit the same choice."""

from __future__ import annotations

import pytest
from django.test import Client

from aftersales.common.models import AuditEvent
from aftersales.customers.models import Customer

from .conftest import sign_in

pytestmark = pytest.mark.django_db


def test_the_owner_chooses_channel_and_frequencies(client, owners):
    sign_in(client, owners.zhang)
    page = client.get("/app/privacy/").content.decode()
    assert 'data-testid="preferences"' in page and 'data-testid="pref-reminders-essential"' in page
    response = client.post("/app/privacy/", {"action": "preferences", "preferred_channel": "app",
                                             "reminder_frequency": "essential", "progress_frequency": "ready"})
    assert response.status_code == 302
    zhang = Customer.objects.get(pk=owners.zhang.pk)
    assert (zhang.preferred_channel, zhang.reminder_frequency, zhang.progress_frequency) == ("app", "essential", "ready")
    assert AuditEvent.objects.filter(action="customer.message_preferences", customer_id=zhang.pk).exists()
    staff = Client()
    staff.force_login(owners.world.advisor)
    detail = staff.get(f"/customers/{zhang.pk}/").content.decode()
    assert 'data-testid="reminder-frequency"' in detail


def test_every_bad_choice_named_at_once_and_nothing_changes(client, owners):
    owners.zhang.email = ""
    owners.zhang.save(update_fields=["email"])
    sign_in(client, owners.zhang)
    response = client.post("/app/privacy/", {"action": "preferences", "preferred_channel": "email",
                                             "reminder_frequency": "weekly", "progress_frequency": "x"})
    assert response.status_code == 422
    page = response.content.decode()
    assert 'data-testid="error-preferred_channel"' in page and page.count('class="error"') >= 3
    zhang = Customer.objects.get(pk=owners.zhang.pk)
    assert (zhang.preferred_channel, zhang.reminder_frequency, zhang.progress_frequency) == ("sms", "all", "every_step")


def test_the_advisor_edits_the_same_choice(owners):
    staff = Client()
    staff.force_login(owners.world.advisor)
    zhang = owners.zhang
    response = staff.post(f"/customers/{zhang.pk}/edit/", {
        "name": zhang.name, "mobile": zhang.mobile, "preferred_channel": "sms", "reminder_frequency": "none",
        "progress_frequency": "key", "title": "mr",
    })
    assert response.status_code == 302, response.context["form"].errors if response.context else response
    zhang.refresh_from_db()
    assert zhang.reminder_frequency == "none" and zhang.progress_frequency == "key"
