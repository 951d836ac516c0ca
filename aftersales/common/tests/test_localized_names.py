"""Names in the reader's language (issue 16): parts and checklists by their English name on an English screen, and
names written in both languages ("全车检测 / Vehicle inspection") in one language only."""

from __future__ import annotations

from types import SimpleNamespace

from django.template import Context, Template
from django.utils.translation import override

PAGE = Template('{% load aftersales %}{{ part|localized:"name" }} | {{ job.title|one_language }}')


def render(language: str, **context: object) -> str:
    with override(language):
        return PAGE.render(Context(context))


def test_part_and_job_names_in_the_readers_language():
    part = SimpleNamespace(name_zh="全合成机油 5W-30", name_en="Synthetic engine oil 5W-30")
    job = SimpleNamespace(title="全车检测 / Vehicle inspection")
    assert render("en", part=part, job=job) == "Synthetic engine oil 5W-30 | Vehicle inspection"
    assert render("zh-hans", part=part, job=job) == "全合成机油 5W-30 | 全车检测"


def test_a_name_in_one_language_stays_as_written():
    part = SimpleNamespace(name_zh="机滤", name_en="")
    job = SimpleNamespace(title="更换机油")
    assert render("en", part=part, job=job) == "机滤 | 更换机油"


def test_stored_codes_in_words():
    from aftersales.common.templatetags.aftersales import code_label

    with override("zh-hans"):
        assert code_label("in_store") not in ("in_store", "")
        assert "in_store" not in str(code_label(["in_store", "wechat"]))
        assert code_label("开始检测") == "开始检测"  # a reason a person wrote stays as written


def test_points_reason_in_words():
    from aftersales.common.templatetags.aftersales import code_label

    with override("zh-hans"):
        text = str(code_label("earn/review +50"))
    assert "earn" not in text and "review" not in text and text.endswith(" +50")
