"""The classifier: accuracy on the held-out part of the shipped labelled set, that it really separates the classes,
both languages, deterministic training, and staff corrections feeding retraining."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from aftersales.feedback import classifier
from aftersales.feedback.choices import Category


def test_labelled_set_covers_every_category_in_both_languages():
    rows = classifier.load_labelled()
    assert len(rows) >= 300
    for category in Category.values:
        texts = [t for t, label in rows if label == category]
        assert sum(1 for t in texts if any("\u4e00" <= ch <= "\u9fff" for ch in t)) >= 20, category
        assert sum(1 for t in texts if t.isascii()) >= 15, category


def test_held_out_accuracy_is_well_above_chance():
    result = classifier.evaluate()
    assert result.test_size >= 60
    chance = 1 / len(Category.values)
    assert result.accuracy >= 0.6  # measured 69.8% (docs/feedback.md); chance is 14.3%
    assert result.accuracy > 4 * chance and result.accuracy > 4 * result.majority_baseline
    assert all(value > chance for value in result.per_class.values())  # every class is recognised, not just a few


def test_training_is_deterministic():
    assert classifier.evaluate().accuracy == classifier.evaluate().accuracy


@pytest.mark.parametrize(("text", "expected"), [
    ("等了两个多小时还没修好", "waiting"),
    ("I waited over two hours", "waiting"),
    ("收费太贵了", "price"),
    ("The labour charges are far too expensive", "price"),
    ("顾问态度很差", "attitude"),
    ("The advisor was rude", "attitude"),
    ("卫生间很脏", "facilities"),
])
def test_clear_texts_in_both_languages(db, text, expected):
    assert classifier.classify(text)[0] == expected


@pytest.mark.django_db
def test_corrections_are_used_by_retraining(loop):
    from aftersales.feedback import services

    odd = "ZQX-77 gizmo whatsit"
    case = services.case_create(actor=loop.world.advisor, store=loop.store, kind="complaint", channel="phone", text=odd)
    before = classifier.model()
    label = "parts" if case.category != "parts" else "price"
    services.case_relabel(actor=loop.world.advisor, case=case, category=label)
    after = classifier.model()
    assert after is not before  # a correction is new training data: the model is rebuilt
    assert classifier.classify(odd)[0] == label
    out = StringIO()
    call_command("feedback_retrain", stdout=out)
    assert "1 staff corrections" in out.getvalue()


def test_evaluate_command_prints_accuracy(db):
    out = StringIO()
    call_command("feedback_evaluate", stdout=out)
    assert "held-out" in out.getvalue() and "accuracy" in out.getvalue()
