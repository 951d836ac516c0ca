"""A preliminary diagnosis from the customer's own words (SPEC §16, issue 21): the likely system, the recommended
operations of the labour guide and a confidence. Always a suggestion for the advisor, never a verdict.

Two sources, combined:

- **rules**: a bilingual keyword lexicon of our own per vehicle system (``LEXICON``);
- **a model trained on the store group's own job history**: each repair order's written request (``complaint``) is
  paired with the systems of the jobs that were then done (a job's system: its parts' categories where lines link
  parts, else the lexicon applied to the job's title); a character n-gram TF-IDF with a logistic regression
  (scikit-learn), which reads Chinese without word segmentation.

``evaluate()`` measures both on a hand-labelled set (``diagnosis_eval.EXAMPLES``, never used for training) and the
model alone on a held-out fifth of the history, beside a majority-class baseline: ``aftersales diagnosis_eval``.
"""

from __future__ import annotations

import math
import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.db.models import Count, Max
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

# A history smaller than this trains no model: rules alone.
MIN_EXAMPLES = 20
MIN_CLASSES = 2
HISTORY_LIMIT = 4000  # the newest orders with a written request
SUGGEST_FLOOR = 0.25  # below this confidence nothing is suggested


class System(models.TextChoices):
    MAINTENANCE = "maintenance", pgettext_lazy("vehicle system", "Routine maintenance")
    BRAKES = "brakes", pgettext_lazy("vehicle system", "Brakes")
    TYRES = "tyres", pgettext_lazy("vehicle system", "Tyres and wheel alignment")
    SUSPENSION = "suspension", pgettext_lazy("vehicle system", "Suspension and steering")
    ENGINE = "engine", pgettext_lazy("vehicle system", "Engine")
    TRANSMISSION = "transmission", pgettext_lazy("vehicle system", "Transmission")
    ELECTRICAL = "electrical", pgettext_lazy("vehicle system", "Electrical and 12 V battery")
    AIRCON = "aircon", pgettext_lazy("vehicle system", "Air conditioning")
    BODY = "body", pgettext_lazy("vehicle system", "Body and paint")
    EV = "ev", pgettext_lazy("vehicle system", "EV battery, motor and charging")


# keyword → weight, per system. Lower-cased; English words are matched on word boundaries, Chinese as substrings.
LEXICON: dict[str, dict[str, float]] = {
    System.MAINTENANCE: {
        "保养": 2, "机油": 2, "机滤": 2, "换油": 2, "保养灯": 3, "首保": 3, "小保养": 3, "大保养": 3, "到期": 1,
        "service": 2, "oil": 2, "oil change": 3, "maintenance": 2, "due": 1, "filter": 1, "inspection due": 2,
    },
    System.BRAKES: {
        "刹车": 3, "制动": 3, "刹车片": 3, "刹车盘": 3, "刹车油": 3, "刹不住": 3, "踩刹车": 3, "手刹": 2, "卡钳": 3,
        "brake": 3, "brakes": 3, "braking": 3, "pads": 2, "rotor": 2, "caliper": 3, "handbrake": 2,
    },
    System.TYRES: {
        "轮胎": 3, "胎压": 3, "扎胎": 3, "漏气": 2, "鼓包": 3, "四轮定位": 3, "定位": 2, "动平衡": 3, "换位": 2,
        "跑偏": 2, "吃胎": 3, "偏磨": 3, "方向盘不正": 2, "补胎": 3, "备胎": 2,
        "tyre": 3, "tyres": 3, "tire": 3, "tires": 3, "puncture": 3, "flat": 2, "alignment": 3, "pulls": 2,
        "balancing": 3, "tread": 2, "pressure": 1, "wheel": 1,
    },
    System.SUSPENSION: {
        "减震": 3, "避震": 3, "悬挂": 3, "底盘": 2, "过坎": 2, "减速带": 2, "咯噔": 2, "转向": 2, "方向盘沉": 3,
        "方向盘重": 3, "稳定杆": 3, "球头": 3, "摆臂": 3, "颠簸": 2,
        "shock": 3, "shocks": 3, "suspension": 3, "clunk": 2, "bump": 2, "bumps": 2, "steering": 2, "stabiliser": 3,
        "stabilizer": 3, "bouncy": 2, "knocking over": 2,
    },
    System.ENGINE: {
        "发动机": 3, "怠速": 3, "熄火": 3, "动力不足": 3, "加速无力": 3, "烧机油": 3, "冒烟": 2, "冒黑烟": 3,
        "冒蓝烟": 3, "水温": 3, "开锅": 3, "正时": 3, "皮带": 2, "缺缸": 3, "积碳": 3, "油耗": 2, "漏油": 2,
        "engine": 3, "misfire": 3, "stalls": 3, "stall": 3, "overheating": 3, "overheat": 3, "smoke": 2,
        "idle": 3, "rough": 1, "power": 1, "hesitates": 2, "check engine": 3, "fuel consumption": 2, "leaking oil": 2,
    },
    System.TRANSMISSION: {
        "变速箱": 3, "换挡": 3, "顿挫": 3, "挂挡": 3, "挂不上挡": 3, "打滑": 2, "离合": 3, "倒挡": 3, "档位": 2,
        "gearbox": 3, "transmission": 3, "shift": 2, "shifting": 3, "shifts": 2, "gear": 2, "gears": 2, "clutch": 3,
        "jerks": 2, "jerk": 2, "reverse": 1,
    },
    System.ELECTRICAL: {
        "电瓶": 3, "蓄电池": 3, "亏电": 3, "打不着": 3, "启动困难": 3, "着车困难": 3, "灯不亮": 2, "大灯": 2,
        "尾灯": 2, "灯泡": 2, "保险丝": 3, "雨刮": 2, "车窗": 2, "中控": 2, "仪表": 2, "故障灯": 1, "喇叭": 2,
        "钥匙": 1, "没电": 2,
        "battery": 2, "won't start": 3, "wont start": 3, "no start": 3, "starting": 2, "headlight": 2, "bulb": 2,
        "fuse": 3, "wiper": 2, "wipers": 2, "window": 2, "dashboard": 2, "warning light": 1, "horn": 2, "flat battery": 3,
    },
    System.AIRCON: {
        "空调": 3, "不凉": 3, "不制冷": 3, "制冷": 3, "异味": 2, "暖风": 3, "出风": 2, "冷媒": 3, "空调滤": 3, "除雾": 2,
        "air conditioning": 3, "a/c": 3, "ac": 2, "aircon": 3, "not cold": 3, "cooling": 2, "heater": 3,
        "smell": 2, "smells": 2, "blows": 1, "refrigerant": 3, "demist": 2,
    },
    System.BODY: {
        "刮擦": 3, "剐蹭": 3, "刮蹭": 3, "凹陷": 3, "钣金": 3, "喷漆": 3, "掉漆": 3, "保险杠": 2, "划痕": 3, "碰撞": 3,
        "事故": 2, "追尾": 3, "车门": 1, "后视镜": 2, "玻璃": 2,
        "scratch": 3, "scratched": 3, "scratches": 3, "dent": 3, "dented": 3, "bumper": 2, "paint": 3,
        "collision": 3, "accident": 2, "rear-ended": 3, "mirror": 2, "windscreen": 2, "bodywork": 3,
    },
    System.EV: {
        "三电": 3, "续航": 3, "充电": 3, "充不进": 3, "高压": 3, "动力电池": 3, "电池包": 3, "电机": 2, "慢充": 3,
        "快充": 3, "充电桩": 3, "掉电": 3,
        "range": 2, "charging": 3, "charge": 2, "charger": 3, "high voltage": 3, "traction battery": 3, "motor": 2,
        "ev": 2, "electric": 1,
    },
}
_SPLIT = re.compile(r"[，,、;；。.!！?？\n]+|\s+and\s+|\s+also\s+|以及|还有|另外")
_ASCII_WORD = re.compile(r"^[a-z0-9 /'\-]+$")


def _matchers() -> list[tuple[str, re.Pattern[str] | None, str, float]]:
    out: list[tuple[str, re.Pattern[str] | None, str, float]] = []
    for system, words in LEXICON.items():
        for word, weight in words.items():
            pattern = re.compile(r"(?<![a-z0-9])" + re.escape(word) + r"(?![a-z0-9])") if _ASCII_WORD.match(word) else None
            out.append((str(system), pattern, word, float(weight)))
    return out


_MATCHERS = _matchers()


def rule_scores(text: str) -> dict[str, float]:
    """The lexicon's score per system for a text (0 where nothing matched)."""
    low = (text or "").lower()
    scores: dict[str, float] = {}
    for system, pattern, word, weight in _MATCHERS:
        hit = pattern.search(low) is not None if pattern is not None else word in low
        if hit:
            scores[system] = scores.get(system, 0.0) + weight
    return scores


def rule_system(text: str) -> str | None:
    scores = rule_scores(text)
    if not scores:
        return None
    order = [str(s) for s in System.values]
    return max(scores, key=lambda s: (scores[s], -order.index(s)))


def segments(text: str) -> list[str]:
    return [s.strip() for s in _SPLIT.split(text or "") if s and s.strip()]


# ---- the history ----------------------------------------------------------------------------------------------------
PART_CATEGORY_SYSTEM = {
    "oil": System.MAINTENANCE, "filter": System.MAINTENANCE, "brake": System.BRAKES, "tyre": System.TYRES,
    "battery": System.ELECTRICAL, "electrical": System.ELECTRICAL, "ev": System.EV, "aircon": System.AIRCON,
    "engine": System.ENGINE, "suspension": System.SUSPENSION, "transmission": System.TRANSMISSION, "body": System.BODY,
}


def _job_system(title: str, part_categories: list[str]) -> str | None:
    systems = Counter(str(PART_CATEGORY_SYSTEM[c]) for c in part_categories if c in PART_CATEGORY_SYSTEM)
    if systems:
        return systems.most_common(1)[0][0]
    return rule_system(title)


def history_examples(group_id: int, *, limit: int = HISTORY_LIMIT) -> list[tuple[int, str, str]]:
    """(order id, a piece of the customer's request, the system of a job done on that order) from the group's
    orders with a written request, newest first. Each piece of a request is paired with each job's system: the model
    learns which words go with which work from how often they meet."""
    from aftersales.workshop.models import RepairJob, RepairLine, RepairOrder

    orders = list(
        RepairOrder.objects.filter(store__group_id=group_id).exclude(complaint="")
        .order_by("-opened_at", "-id").values_list("id", "complaint")[:limit]
    )
    if not orders:
        return []
    ids = [pk for pk, _c in orders]
    titles: dict[int, list[tuple[int, str]]] = {}
    for job_id, order_id, title in RepairJob.objects.filter(order_id__in=ids).exclude(status="declined").values_list(
        "id", "order_id", "title"
    ):
        titles.setdefault(order_id, []).append((job_id, title))
    cats: dict[int, list[str]] = {}
    for job_id, cat in RepairLine.objects.filter(order_id__in=ids, part__isnull=False).values_list("job_id", "part__category"):
        cats.setdefault(job_id, []).append(cat)
    out: list[tuple[int, str, str]] = []
    for order_id, complaint in orders:
        systems = {s for job_id, title in titles.get(order_id, []) if (s := _job_system(title, cats.get(job_id, [])))}
        for piece in segments(complaint):
            for system in sorted(systems):
                out.append((order_id, piece, system))
    return out


@dataclass
class _Trained:
    pipeline: Any
    classes: list[str]
    examples: int
    majority: str


# The trained models this process has loaded: group → (DiagnosisModel id, model). Filled from the database only.
_loaded: dict[int, tuple[int, _Trained]] = {}
_lock = threading.Lock()
KEEP_MODELS = 2  # per group: the newest and the one before (a request may be reading it while the worker writes)


def _fit(texts: list[str], labels: list[str]) -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    pipeline = make_pipeline(
        TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), lowercase=True, sublinear_tf=True),
        LogisticRegression(max_iter=2000, C=4.0),
    )
    pipeline.fit(texts, labels)
    return pipeline


def train(examples: list[tuple[int, str, str]]) -> _Trained | None:
    labels = [s for _o, _t, s in examples]
    if len(examples) < MIN_EXAMPLES or len(set(labels)) < MIN_CLASSES:
        return None
    pipeline = _fit([t for _o, t, _s in examples], labels)
    return _Trained(pipeline, [str(c) for c in pipeline.classes_], len(examples), Counter(labels).most_common(1)[0][0])


def history_stamp(group_id: int) -> tuple[int, int]:
    """The version stamp of a group's history: (orders with a written request, the newest one's id)."""
    from aftersales.workshop.models import RepairOrder

    stamp = RepairOrder.objects.filter(store__group_id=group_id).exclude(complaint="").aggregate(n=Count("id"), last=Max("id"))
    return stamp["n"] or 0, stamp["last"] or 0


def _sign(payload: bytes) -> str:
    import hashlib
    import hmac

    from django.conf import settings

    return hmac.new(settings.SECRET_KEY.encode(), b"diagnosis-model:" + payload, hashlib.sha256).hexdigest()


def train_group(group_id: int, *, force: bool = False) -> Any:
    """The worker's job: train the group's model when its history moved since the last one (its version stamp), store
    it signed, keep the newest ``KEEP_MODELS``. Returns the stored ``DiagnosisModel``, or None when nothing was
    trained (unchanged history, or too little of it: the lexicon answers alone)."""
    import pickle
    import time

    from django.db import IntegrityError, transaction

    from .models import DiagnosisModel

    count, last = history_stamp(group_id)
    if not force and DiagnosisModel.objects.filter(group_id=group_id, history_count=count, history_last_id=last).exists():
        return None
    began = time.monotonic()
    trained = train(history_examples(group_id))
    if trained is None:
        return None
    payload = pickle.dumps(trained.pipeline, protocol=pickle.HIGHEST_PROTOCOL)
    try:
        with transaction.atomic():
            DiagnosisModel.objects.filter(group_id=group_id, history_count=count, history_last_id=last).delete()
            row = DiagnosisModel.objects.create(
                group_id=group_id, history_count=count, history_last_id=last, examples=trained.examples,
                classes=trained.classes, majority=trained.majority, payload=payload, signature=_sign(payload),
                seconds=round(time.monotonic() - began, 3),
            )
    except IntegrityError:  # another worker stored the same stamp at the same moment: theirs is as good
        return None
    old = list(DiagnosisModel.objects.filter(group_id=group_id).order_by("-id").values_list("id", flat=True)[KEEP_MODELS:])
    if old:
        DiagnosisModel.objects.filter(id__in=old).delete()
    return row


def train_all(*, force: bool = False) -> int:
    """Every dealer group's model whose history moved (the periodic task). Returns how many were trained."""
    from aftersales.stores.models import DealerGroup

    return sum(1 for pk in DealerGroup.objects.values_list("pk", flat=True) if train_group(pk, force=force) is not None)


def model_for(group_id: int) -> _Trained | None:
    """The group's newest model trained by the worker (one small query; the model itself is read and unpickled once
    per process and version), or None: then the lexicon answers alone. Never trains."""
    import pickle

    from .models import DiagnosisModel

    newest = DiagnosisModel.objects.filter(group_id=group_id).order_by("-id").values_list("id", flat=True).first()
    if newest is None:
        return None
    with _lock:
        held = _loaded.get(group_id)
        if held is not None and held[0] == newest:
            return held[1]
    row = DiagnosisModel.objects.filter(pk=newest).first()
    if row is None:  # deleted between the two reads: the next request takes the newer one
        return held[1] if held is not None else None
    payload = bytes(row.payload)
    import hmac

    if not hmac.compare_digest(row.signature, _sign(payload)):
        return None  # not written with this project's key (or the key was rotated): the next training replaces it
    trained = _Trained(pickle.loads(payload), list(row.classes), row.examples, row.majority)  # noqa: S301 (signed above)
    with _lock:
        _loaded[group_id] = (newest, trained)
    return trained


def model_probabilities(trained: _Trained | None, text: str) -> dict[str, float]:
    if trained is None or not text.strip():
        return {}
    probs = trained.pipeline.predict_proba([text])[0]
    return {c: float(p) for c, p in zip(trained.classes, probs, strict=True)}


def combine(rules: dict[str, float], model: dict[str, float]) -> dict[str, float]:
    """Rules as a distribution (softmax of the scores) blended with the model's; the model alone counts for less
    when no rule matched, and rules alone when there is no model."""
    rule_p: dict[str, float] = {}
    if rules:
        top = max(rules.values())
        exp = {s: math.exp(v - top) for s, v in rules.items()}
        total = sum(exp.values())
        rule_p = {s: v / total for s, v in exp.items()}
    if rule_p and model:
        keys = set(rule_p) | set(model)
        return {s: 0.6 * rule_p.get(s, 0.0) + 0.4 * model.get(s, 0.0) for s in keys}
    if rule_p:
        return {s: 0.85 * p for s, p in rule_p.items()}
    return {s: 0.7 * p for s, p in model.items()}


# ---- the answer -----------------------------------------------------------------------------------------------------
@dataclass
class Diagnosis:
    system: str
    label: str
    confidence: float  # 0..1
    source: str  # "rules+history" | "rules" | "history"
    operations: list[Any] = field(default_factory=list)
    alternatives: list[tuple[str, str, float]] = field(default_factory=list)

    @property
    def percent(self) -> int:
        return round(self.confidence * 100)

    @property
    def level(self) -> str:
        return "high" if self.confidence >= 0.6 else "medium" if self.confidence >= 0.4 else "low"

    @property
    def level_label(self) -> str:
        return str({"high": _("likely"), "medium": _("possible"), "low": _("uncertain")}[self.level])


SYSTEM_SKILLS = {
    System.MAINTENANCE: ("maintenance",), System.BRAKES: ("tyres", "maintenance"), System.TYRES: ("tyres",),
    System.SUSPENSION: ("tyres", "engine"), System.ENGINE: ("engine",), System.TRANSMISSION: ("transmission",),
    System.ELECTRICAL: ("electrical",), System.AIRCON: ("aircon",), System.BODY: ("body", "paint"), System.EV: ("ev",),
}


def operations_for_system(group_id: int, system: str, *, limit: int = 3) -> list[Any]:
    """The labour guide's operations for a system: those whose parts or name put them there, the most used first."""
    from aftersales.estimates.models import LabourOperation
    from aftersales.workshop.models import RepairLine

    ops = list(LabourOperation.objects.filter(group_id=group_id, is_active=True).prefetch_related("parts__part"))
    fitting = []
    for op in ops:
        cats = [p.part.category for p in op.parts.all()]
        op_system = _job_system(f"{op.name_zh} {op.name_en}", cats)
        if op_system == system:
            fitting.append(op)
    if not fitting:
        return []
    used = dict(
        RepairLine.objects.filter(order__store__group_id=group_id, kind="labour", code__in=[o.code for o in fitting])
        .values_list("code").annotate(n=Count("id")).values_list("code", "n")
    )
    fitting.sort(key=lambda o: (-used.get(o.code, 0), o.code))
    return fitting[:limit]


def suggest_service_type(system: str, kinds: list[Any]) -> Any:
    """Of a store's bookable services, the one that fits a system: a maintenance for maintenance, a service asking
    for the system's skill, else a general inspection; None when none fits."""
    if system == System.MAINTENANCE:
        return next((k for k in kinds if k.kind == "maintenance"), None)
    skills = SYSTEM_SKILLS.get(System(system), ())
    for k in kinds:
        if k.kind != "maintenance" and k.required_skill and k.required_skill in skills:
            return k
    return next((k for k in kinds if k.kind == "inspection" and not k.required_skill), None)


def diagnose(text: str, *, group_id: int, with_operations: bool = True) -> Diagnosis | None:
    """The likely system for a customer's description, or None when the words say too little."""
    text = (text or "").strip()[:2000]
    if not text:
        return None
    trained = model_for(group_id)
    rules = rule_scores(text)
    model = model_probabilities(trained, text)
    dist = combine(rules, model)
    if not dist:
        return None
    ranked = sorted(dist.items(), key=lambda kv: -kv[1])
    system, confidence = ranked[0]
    if confidence < SUGGEST_FLOOR:
        return None
    source = "rules+history" if rules and model else "rules" if rules else "history"
    labels = dict(System.choices)
    return Diagnosis(
        system=system,
        label=str(labels[system]),
        confidence=confidence,
        source=source,
        operations=operations_for_system(group_id, system) if with_operations else [],
        alternatives=[(s, str(labels[s]), p) for s, p in ranked[1:3] if p >= 0.15],
    )


# ---- evaluation -----------------------------------------------------------------------------------------------------
@dataclass
class Evaluation:
    examples: int  # the hand-labelled set
    history_examples: int
    majority_system: str
    baseline: float  # majority class (of the history) on the hand-labelled set
    rules: float
    model: float
    combined: float
    holdout_examples: int
    holdout_baseline: float
    holdout_model: float


def _accuracy(pred: list[str | None], truth: list[str]) -> float:
    return sum(p == t for p, t in zip(pred, truth, strict=True)) / len(truth) if truth else 0.0


def evaluate(group_id: int) -> Evaluation:
    """Accuracy of each source on the hand-labelled examples, and of the model on a held-out fifth of the history
    (split by order, so no order's words are on both sides)."""
    from .diagnosis_eval import EXAMPLES

    history = history_examples(group_id)
    trained = train(history)
    texts = [t for t, _s in EXAMPLES]
    truth = [s for _t, s in EXAMPLES]
    majority = trained.majority if trained else str(System.MAINTENANCE)

    def top(dist: dict[str, float]) -> str | None:
        return max(dist, key=lambda s: dist[s]) if dist else None

    rules_pred = [rule_system(t) for t in texts]
    model_pred = [top(model_probabilities(trained, t)) for t in texts]
    combined_pred = [top(combine(rule_scores(t), model_probabilities(trained, t))) for t in texts]

    held = {o for o, _t, _s in history if o % 5 == 0}
    train_part = [e for e in history if e[0] not in held]
    test_part = [e for e in history if e[0] in held]
    held_model = train(train_part)
    held_truth = [s for _o, _t, s in test_part]
    held_majority = held_model.majority if held_model else majority
    return Evaluation(
        examples=len(EXAMPLES),
        history_examples=len(history),
        majority_system=majority,
        baseline=_accuracy([majority] * len(truth), truth),
        rules=_accuracy(rules_pred, truth),
        model=_accuracy(model_pred, truth),
        combined=_accuracy(combined_pred, truth),
        holdout_examples=len(test_part),
        holdout_baseline=_accuracy([held_majority] * len(held_truth), held_truth),
        holdout_model=_accuracy([top(model_probabilities(held_model, t)) for _o, t, _s in test_part], held_truth),
    )


__all__ = ["Diagnosis", "Evaluation", "System", "diagnose", "evaluate", "rule_scores"]
