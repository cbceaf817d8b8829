"""Metrics, batched prediction with test-time augmentation, and evaluate()."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from fer_core.api import Split
from fer_core.errors import DataError, UsageError
from fer_core.preprocess import Preprocessing
from fer_core.training.evaluate import evaluate, predict_logits
from fer_core.training.metrics import classification_metrics, macro_f1_from_confusion

CLASSES = ("a", "b", "c")


def test_metrics_on_a_hand_checked_case():
    y_true = np.array([0, 0, 0, 1, 1, 2])
    y_pred = np.array([0, 0, 1, 1, 2, 2])
    m = classification_metrics(y_true, y_pred, CLASSES)
    assert m["n"] == 6
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["confusion"] == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    assert m["confusion_normalized"][0] == pytest.approx([2 / 3, 1 / 3, 0])
    assert m["per_class"]["a"] == pytest.approx({"precision": 1.0, "recall": 2 / 3, "f1": 0.8, "support": 3})
    assert m["per_class"]["b"]["f1"] == pytest.approx(0.5)
    assert m["per_class"]["c"]["f1"] == pytest.approx(2 / 3)
    assert m["macro_f1"] == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)
    assert m["balanced_accuracy"] == pytest.approx((2 / 3 + 1 / 2 + 1) / 3)
    assert m["weighted_f1"] == pytest.approx((3 * 0.8 + 2 * 0.5 + 2 / 3) / 6)


def test_absent_class_does_not_count_in_macro_f1_and_rows_without_support_stay_zero():
    m = classification_metrics(np.array([0, 1]), np.array([0, 1]), CLASSES)
    assert m["macro_f1"] == 1.0
    assert m["per_class"]["c"]["support"] == 0 and m["confusion_normalized"][2] == [0.0, 0.0, 0.0]


def test_fast_macro_f1_matches_sklearn():
    rng = np.random.default_rng(0)
    y_true, y_pred = rng.integers(0, 3, 200), rng.integers(0, 3, 200)
    m = classification_metrics(y_true, y_pred, CLASSES)
    assert macro_f1_from_confusion(np.array(m["confusion"])) == pytest.approx(m["macro_f1"])


class _MeanBrightness(nn.Module):
    """Logits from mean brightness and left/right asymmetry, so a flip changes them."""

    def forward(self, x):
        half = x.shape[-1] // 2
        left, right = x[..., :half].mean(dim=(1, 2, 3)), x[..., half:].mean(dim=(1, 2, 3))
        return torch.stack([left - right, right - left, x.mean(dim=(1, 2, 3))], dim=1)


def test_tta_views_average_as_expected():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (5, 20, 20), dtype=np.uint8)
    prep = Preprocessing.default(1, 20)
    model = _MeanBrightness()
    plain = predict_logits(model, images, prep, batch_size=2)
    flipped = predict_logits(model, images[:, :, ::-1].copy(), prep)
    assert plain.shape == (5, 3)
    assert np.allclose(predict_logits(model, images, prep, tta="flip"), (plain + flipped) / 2, atol=1e-6)
    tencrop = predict_logits(model, images, prep, tta="tencrop")
    assert tencrop.shape == (5, 3) and np.allclose(tencrop[:, 0], 0, atol=1e-6), "flipped crops cancel the asymmetry"
    with pytest.raises(UsageError, match="unknown test-time augmentation"):
        predict_logits(model, images, prep, tta="rotate")


def test_evaluate_respects_the_mask_and_refuses_an_empty_selection():
    rng = np.random.default_rng(1)
    split = Split(rng.integers(0, 256, (12, 20, 20), dtype=np.uint8), rng.integers(0, 3, 12))
    meta = {"classes": list(CLASSES), "preprocessing": Preprocessing.default(1, 20).to_dict()}
    model = _MeanBrightness()
    whole = evaluate(model, meta, split)
    assert whole["n"] == 12 and whole["tta"] == "none" and np.isfinite(whole["loss"])
    mask = np.arange(12) < 5
    part = evaluate(model, meta, split, mask=mask)
    predicted = predict_logits(model, split.images[:5], Preprocessing.default(1, 20)).argmax(1)
    assert part["n"] == 5 and part["accuracy"] == pytest.approx(np.mean(predicted == split.labels[:5]))
    with pytest.raises(DataError, match="empty"):
        evaluate(model, meta, split, mask=np.zeros(12, dtype=bool))
