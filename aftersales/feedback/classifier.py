"""Automatic classification of feedback text (Chinese or English) into the SPEC §9 categories.

TF-IDF over character 1–3-grams (works for Chinese without a word segmenter, and for English) feeding a
complement naive Bayes (as accurate as a logistic regression on this set in our comparison, and trained in
milliseconds instead of seconds), trained on ``data/labelled.csv`` (written for this product and shipped with it) plus the
labels staff corrected (:class:`LabelCorrection`). Training is deterministic (fixed split and solver) and takes
well under a second, so the model is built lazily on first use and kept per process, keyed by the data it
was trained on: a new correction or a retrain rebuilds it. Nothing pickled is committed.
"""

from __future__ import annotations

import csv
import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "data" / "labelled.csv"
HELD_OUT = 0.2
SEED = 20261201

_lock = threading.Lock()
_cache: dict[str, Any] = {}


def load_labelled(path: Path = DATA) -> list[tuple[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return [(row["text"].strip(), row["label"].strip()) for row in csv.DictReader(fh) if row["text"].strip()]


def corrections() -> list[tuple[str, str]]:
    from .models import LabelCorrection

    return [(t, c) for t, c in LabelCorrection.objects.order_by("id").values_list("text", "corrected")]


def build_pipeline() -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.naive_bayes import ComplementNB
    from sklearn.pipeline import Pipeline

    return Pipeline([
        ("tfidf", TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), lowercase=True, sublinear_tf=True)),
        ("clf", ComplementNB(alpha=0.3)),
    ])


def split(rows: list[tuple[str, str]]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """A fixed stratified split: the same rows are held out on every machine."""
    from sklearn.model_selection import train_test_split

    texts = [t for t, _l in rows]
    labels = [label for _t, label in rows]
    tr_x, te_x, tr_y, te_y = train_test_split(texts, labels, test_size=HELD_OUT, random_state=SEED, stratify=labels)
    return list(zip(tr_x, tr_y, strict=True)), list(zip(te_x, te_y, strict=True))


@dataclass
class Evaluation:
    train_size: int
    test_size: int
    accuracy: float
    per_class: dict[str, float]
    majority_baseline: float
    corrections: int


def evaluate(extra: list[tuple[str, str]] | None = None) -> Evaluation:
    """Train on the training part (plus ``extra``, e.g. staff corrections) and score on the held-out part."""
    from collections import Counter

    train, test = split(load_labelled())
    train = train + list(extra or [])
    model = build_pipeline().fit([t for t, _l in train], [label for _t, label in train])
    predicted = model.predict([t for t, _l in test])
    truth = [label for _t, label in test]
    hits = [p == y for p, y in zip(predicted, truth, strict=True)]
    per_class: dict[str, float] = {}
    for label in sorted(set(truth)):
        idx = [i for i, y in enumerate(truth) if y == label]
        per_class[label] = sum(hits[i] for i in idx) / len(idx)
    majority = Counter(truth).most_common(1)[0][1] / len(truth)
    return Evaluation(len(train), len(test), sum(hits) / len(hits), per_class, majority, len(extra or []))


def _key(rows: list[tuple[str, str]]) -> str:
    digest = hashlib.sha256()
    for text, label in rows:
        digest.update(f"{label}\t{text}\n".encode())
    return digest.hexdigest()


def model(*, with_corrections: bool = True) -> Any:
    """The production model: every labelled example plus staff corrections, built once per data version."""
    rows = load_labelled() + (corrections() if with_corrections else [])
    key = _key(rows)
    with _lock:
        cached = _cache.get("model")
        if cached is not None and cached[0] == key:
            return cached[1]
        fitted = build_pipeline().fit([t for t, _l in rows], [label for _t, label in rows])
        _cache["model"] = (key, fitted)
        return fitted


def classify(text: str) -> tuple[str, float]:
    """(category, probability) for a text; empty text is "other"."""
    text = (text or "").strip()
    if not text:
        return "other", 0.0
    fitted = model()
    probabilities = fitted.predict_proba([text])[0]
    best = int(probabilities.argmax())
    return str(fitted.classes_[best]), float(probabilities[best])
