"""Staff notifications and customer messages of the feedback loop are in their recipient's language, whatever the
language of the person (or task) that causes them (issue 16)."""

from __future__ import annotations

import pytest
from django.utils.translation import override

from aftersales.feedback import services
from aftersales.messaging.models import Message

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("acting_language", ["en", "zh-hans"])
def test_assignment_notice_in_the_owners_language(loop, acting_language):
    case = services.case_create(actor=loop.world.advisor, store=loop.store, kind="complaint", channel="phone",
                                text="刹车还是有异响", customer=loop.customer)
    chinese_owner = loop.world.staff["foreman"]
    chinese_owner.language = "zh-hans"
    chinese_owner.save(update_fields=["language"])
    with override(acting_language):
        services.case_assign(actor=loop.world.staff["store_manager"], case=case, owner=chinese_owner)
    notice = Message.objects.filter(staff_user=chinese_owner, kind="staff.task").latest("id")
    assert notice.subject == "员工任务"
    assert notice.body.startswith(f"反馈单 #{case.pk} 已分派给您")  # a case is 反馈单, 工单 is a repair order
    received = Message.objects.get(kind="feedback.received", customer=loop.customer)
    assert received.body.startswith("张先生，") and "Mr" not in received.body
