"""Engagement demo data, made through the services: six months of tier history (so the movement matrix and the
customer's tier history have something to show), automatic tags, tier-A advisor suggestions, a small history
import from a "previous system" and three saved segments."""

from __future__ import annotations

from typing import Any

from .rules import months_before


def _history_csv(builder: Any) -> bytes:
    """Two customers switching from another dealer (with their past visits) and an older visit of an existing one."""
    from aftersales.vehicles.demo import make_demo_vin

    rng = builder.rng
    today = builder.today
    vin1 = make_demo_vin(rng, "LVG", "BE4EK", 2021, "G")
    vin2 = make_demo_vin(rng, "LFV", "2A21K", 2022, "F")
    known = next(c for c in builder.customers if c.vehicles.exists())
    known_vin = known.vehicles.first().vin
    oldest = months_before(today, 16)
    rows = [
        "日期,门店,手机,姓名,车架号,车牌,品牌,车型,里程,实收金额,退款,项目,单号",
        f"{months_before(today, 11)},gz,13902461188,欧阳明,{vin1},粤A3K7Q2,丰田,凯美瑞,21000,1280.00,,小保养,OLD-1001",
        f"{months_before(today, 8)},gz,13902461188,欧阳明,{vin1},粤A3K7Q2,丰田,凯美瑞,26500,4380.00,,刹车片更换+四轮定位,OLD-1002",
        f"{months_before(today, 5)},gz,13902461188,欧阳明,{vin1},粤A3K7Q2,丰田,凯美瑞,31800,5600.00,,变速箱油更换,OLD-1003",
        f"{months_before(today, 2)},gz,13902461188,欧阳明,{vin1},粤A3K7Q2,丰田,凯美瑞,36900,5100.00,,大保养,OLD-1004",
        f"{months_before(today, 9)},sz,13760015522,司马婷,{vin2},粤B6D2N8,大众,帕萨特,15000,680.00,,首保,OLD-2001",
        f"{oldest},gz,{known.mobile.replace('+86', '')},{known.name},{known_vin},,,,,980.00,,保养（旧系统）,OLD-3001",
    ]
    return ("\n".join(rows) + "\n").encode()


def load(builder: Any) -> None:
    from aftersales.customers.models import Tag

    from .choices import AutoTag
    from .services import (
        dedicated_advisor_suggest_all,
        import_job_create,
        import_job_process,
        import_job_start,
        segment_save,
        tier_recompute_all,
    )
    from .tags import recompute_auto_tags

    admin = builder.users["admin"]
    manager = builder.users["manager"]
    store = builder.stores["gz"]
    job, _preview = import_job_create(actor=admin, store=store, name="旧系统导出-2024.csv", data=_history_csv(builder))
    import_job_start(actor=admin, job=job)
    import_job_process(job_id=job.pk)
    today = builder.today
    for back in range(6, 0, -1):  # monthly snapshots: the history of tier changes
        tier_recompute_all(as_of=months_before(today, back))
    tier_recompute_all(as_of=today)
    recompute_auto_tags(today=today)
    dedicated_advisor_suggest_all()
    Tag.objects.filter(group=builder.group, name__in=AutoTag.values).update(is_automatic=True)
    segment_save(actor=manager, name="A 忠诚客户 / Loyal", criteria={"tiers": ["A"]})
    segment_save(actor=manager, name="D 流失风险·可营销 / Win-back", criteria={"tiers": ["D"], "marketing_consent": True})
    segment_save(actor=manager, name="新能源车主 / EV owners", criteria={"tags": [AutoTag.EV_OWNER.value]},
                 store=store)
