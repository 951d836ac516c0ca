"""One English word, several meanings (issue 16): where a word means something else than its most common sense,
it carries a message context and the Chinese says what a service department means there."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.template import Context, Template
from django.utils.translation import override

from aftersales.care.forms import PlaybookForm
from aftersales.feedback.forms import ActionForm
from aftersales.loyalty.choices import VoucherStatus
from aftersales.parts.choices import ReservationStatus, Unit

PACKAGE = Path(__file__).resolve().parents[2]


def test_labels_in_their_sense():
    with override("zh-hans"):
        assert str(Unit.SET.label) == "套"  # a unit, not "已设置"
        assert str(VoucherStatus.ISSUED.label) == "已发放"  # a voucher is given out, not "已开具" (an invoice)
        assert str(ReservationStatus.CONSUMED.label) == "已领用"
        assert str(ActionForm.base_fields["start_date"].label) == "起始日期"  # a date, not "调出" (a transfer)
        assert str(PlaybookForm.base_fields["name"].label) == "名称"  # a playbook's name, not a person's "姓名"


@pytest.mark.parametrize(("source", "context", "word", "chinese"), [
    ("billing/templates/billing/cashier.html", "open a page", "Open", "打开"),
    ("feedback/templates/feedback/case_detail.html", "feedback case", "Received", "受理时间"),
    ("feedback/templates/feedback/followups.html", "follow-up", "Method", "回访方式"),
    ("loyalty/templates/loyalty/referrals.html", "referral", "New customer", "被推荐客户"),
    ("workshop/templates/workshop/report.html", "date range", "From", "起始日期"),
])
def test_templates_use_the_word_in_its_sense(source, context, word, chinese):
    text = (PACKAGE / source).read_text()
    assert f'{{% translate "{word}" %}}' not in text, f"{source}: “{word}” without its context"
    assert f'{{% translate "{word}" context "{context}" %}}' in text
    with override("zh-hans"):
        assert Template(f'{{% load i18n %}}{{% translate "{word}" context "{context}" %}}').render(Context()) == chinese
