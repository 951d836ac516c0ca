"""The audit trail names what changed in the reader's words, never as the raw key the service wrote."""

from __future__ import annotations

from types import SimpleNamespace

from django.utils.translation import override

from aftersales.common.templatetags.aftersales import audit_changes


def test_parts_issued_to_a_job_read_as_words_in_both_languages() -> None:
    event = SimpleNamespace(content_type_id=None, changes={"job 1 90430-12031": [None, "1.00"],
                                                            "job 2 OIL-0W20 billed": ["4.00", "3.00"]})
    with override("zh-hans"):
        names = [name for name, _b, _a in audit_changes(event)]
    assert names == ["维修项目 1 配件 90430-12031", "维修项目 2 配件 OIL-0W20 计费数量"]
    with override("en"):
        names = [name for name, _b, _a in audit_changes(event)]
    assert names == ["Job 1, part 90430-12031", "Job 2, part OIL-0W20 billed"]
