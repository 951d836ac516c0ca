"""Reasons and notes a service writes are stored as a code and parameters and read in the reader's language (issue 16):
"开始检测" no longer shows on an English screen, nor "Invoice INV-…" on a Chinese one."""

from __future__ import annotations

import json
import pickle

import pytest
from django.template import Context, Template
from django.utils.translation import gettext_noop, override

from aftersales.common import audit
from aftersales.common.models import AuditEvent
from aftersales.common.readtime import MARK, ReadTimeText, coded, names_pair, render


def test_a_coded_text_renders_in_the_language_active_when_read():
    raw = coded(gettext_noop("Transfer to %(store)s"), store="广州天河店 / Guangzhou Tianhe")
    assert raw.startswith(MARK) and json.loads(raw)["store"] == "广州天河店 / Guangzhou Tianhe"
    with override("zh-hans"):
        text = ReadTimeText(raw)
        assert text == "调拨至 广州天河店"  # its content: the language when it was read
    with override("en"):
        assert str(text) == "Transfer to Guangzhou Tianhe"  # str(), format(), templates: the language now
        assert f"{text}" == "Transfer to Guangzhou Tianhe"
        assert (
            Template("{{ t }}|{{ t|truncatechars:40 }}").render(Context({"t": text}))
            == "Transfer to Guangzhou Tianhe|Transfer to Guangzhou Tianhe"
        )
    assert pickle.loads(pickle.dumps(text)).raw == raw  # noqa: S301 (our own bytes: the cache keeps rows pickled)


def test_parameters_a_pair_of_names_and_nested_texts():
    raw = coded(gettext_noop("Issued to %(order)s / %(job)s"), order="RO-1", job=names_pair("更换机油", "Oil change"))
    with override("en"):
        assert render(raw) == "Issued to RO-1 / Oil change"
    with override("zh-hans"):
        assert render(raw) == "领用至 RO-1 / 更换机油"
    inner = coded(gettext_noop("Invoice %(n)s"), n="INV-7")
    with override("en"):
        assert render(coded(gettext_noop("Referred %(name)s"), name=inner)) == "Referred Invoice INV-7"


def test_text_a_person_wrote_and_old_rows_stay_as_written():
    assert render("客户要求改期") == "客户要求改期"
    assert render('{"not": "coded"}') == '{"not": "coded"}'
    assert render(MARK + " broken") == MARK + " broken"


@pytest.mark.django_db
def test_stored_as_a_code_read_in_each_readers_language(django_user_model):
    user = django_user_model.objects.create(username="writer", language="zh-hans")
    with override("zh-hans"):  # written from a Chinese session
        event = audit.record(
            actor=user, obj=user, action="user.updated", reason=coded(gettext_noop("Inspection started"))
        )
    assert event.reason == "开始检测"  # set on the instance: words at once, never the code
    assert AuditEvent.objects.filter(pk=event.pk, reason__startswith=MARK).exists()  # stored: the code
    with override("en"):
        assert AuditEvent.objects.get(pk=event.pk).reason == "Inspection started"
        assert list(AuditEvent.objects.filter(pk=event.pk).values_list("reason", flat=True)) == ["Inspection started"]
    with override("zh-hans"):
        row = AuditEvent.objects.get(pk=event.pk)
        assert row.reason == "开始检测"
        row.save()  # saved again: the code stays
    assert AuditEvent.objects.filter(pk=event.pk, reason__startswith=MARK).exists()
    plain = audit.record(actor=user, obj=user, action="user.updated", reason="顾客来电改时间")
    with override("en"):
        assert AuditEvent.objects.get(pk=plain.pk).reason == "顾客来电改时间"


@pytest.mark.django_db
def test_a_fixed_sentence_stored_as_words_before_the_codes_reads_in_the_readers_language(django_user_model):
    user = django_user_model.objects.create(username="old-writer")
    old = audit.record(actor=user, obj=user, action="user.updated", reason="开始检测")  # a row from before the codes
    assert AuditEvent.objects.filter(pk=old.pk, reason="开始检测").exists()
    with override("en"):
        row = AuditEvent.objects.get(pk=old.pk)
        assert row.reason == "Inspection started" and str(row.reason) == "Inspection started"
        row.save()
    assert AuditEvent.objects.filter(pk=old.pk, reason="开始检测").exists()  # the row keeps what it had
    with override("zh-hans"):
        assert str(AuditEvent.objects.get(pk=old.pk).reason) == "开始检测"
