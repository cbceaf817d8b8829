"""Batched inference with optional test-time augmentation, and metrics for a checkpoint on a dataset split."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from fer_core.api import Split
from fer_core.errors import DataError, UsageError
from fer_core.preprocess import Preprocessing, conform_images, to_tensor
from fer_core.training.metrics import classification_metrics

if TYPE_CHECKING:
    import torch
    from torch import nn

TTA_MODES = ("none", "flip", "tencrop")
TENCROP_FRACTION = 0.9


def predict_logits(
    model: nn.Module,
    images_uint8: np.ndarray,
    prep: Preprocessing,
    *,
    batch_size: int = 256,
    tta: str = "none",
    channels_last: bool = False,
) -> np.ndarray:
    """Logits (N, classes) of ``model`` in eval mode; TTA averages the logits of the augmented views."""
    import torch

    if tta not in TTA_MODES:
        raise UsageError(f"unknown test-time augmentation '{tta}'; choose from {', '.join(TTA_MODES)}")
    images = conform_images(images_uint8, prep.channels, prep.size)
    device = next(model.parameters(), torch.empty(0)).device
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    was_training = model.training
    model.eval()
    chunks = []
    try:
        with torch.inference_mode():
            for start in range(0, len(images), batch_size):
                x = to_tensor(images[start : start + batch_size], prep).to(device)
                views = _tta_views(x, tta)
                logits = sum(model(v.contiguous(memory_format=memory_format)).float() for v in views) / len(views)
                chunks.append(logits.cpu().numpy())
    finally:
        model.train(was_training)
    if not chunks:
        return np.zeros((0, 0), dtype=np.float32)
    return np.concatenate(chunks)


def _tta_views(x: torch.Tensor, tta: str) -> list[torch.Tensor]:
    import torch.nn.functional as F

    if tta == "none":
        return [x]
    if tta == "flip":
        return [x, x.flip(-1)]
    size = x.shape[-1]
    crop = round(size * TENCROP_FRACTION)
    edge, mid = size - crop, (size - crop) // 2
    corners = [(0, 0), (0, edge), (edge, 0), (edge, edge), (mid, mid)]  # four corners and the centre, as torchvision's ten_crop
    crops = [x[..., top : top + crop, left : left + crop] for top, left in corners]
    crops += [c.flip(-1) for c in crops]
    return [F.interpolate(c, size=(size, size), mode="bilinear", align_corners=False) for c in crops]


def evaluate(model: nn.Module, meta: dict[str, Any], split: Split, *, tta: str = "none", mask: np.ndarray | None = None) -> dict[str, Any]:
    """Metrics of ``model`` (rebuilt from checkpoint ``meta``) on ``split``, optionally on the ``mask``-selected images only."""
    import torch
    import torch.nn.functional as F

    images, labels = split.images, split.labels
    if mask is not None:
        images, labels = images[mask], labels[mask]
    if len(labels) == 0:
        raise DataError("nothing to evaluate: the split (after exclusions) is empty")
    prep = Preprocessing.from_dict(meta["preprocessing"])
    channels_last = bool(meta.get("config", {}).get("channels_last", False))
    logits = predict_logits(model, images, prep, tta=tta, channels_last=channels_last)
    metrics = classification_metrics(labels, logits.argmax(axis=1), meta["classes"])
    metrics["loss"] = float(F.cross_entropy(torch.from_numpy(logits), torch.from_numpy(labels.astype(np.int64))))
    metrics["tta"] = tta
    return metrics


def evaluate_checkpoint(
    checkpoint: Path | str,
    data: str,
    *,
    split: str = "val",
    tta: str = "none",
    exclude_train_duplicates: bool = False,
    data_options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Load a fer checkpoint and a dataset (anything ``load_dataset`` takes) and measure one split.

    The top-level metrics are always the plain ones; with ``tta`` they come again under ``with_tta``.
    """
    from fer_core.checkpoint import load_checkpoint, resolve_checkpoint
    from fer_core.data.dedup import train_duplicate_mask
    from fer_core.data.loading import load_dataset

    if tta not in TTA_MODES:
        raise UsageError(f"unknown test-time augmentation '{tta}'; choose from {', '.join(TTA_MODES)}")
    weights = resolve_checkpoint(checkpoint)
    model, meta = load_checkpoint(weights)
    if meta.get("config", {}).get("channels_last"):
        import torch

        model = model.to(memory_format=torch.channels_last)  # the layout the trainer validated with: identical kernels
    dataset = load_dataset(data, options=data_options)
    if tuple(dataset.classes) != tuple(meta["classes"]):
        raise DataError(f"dataset classes {list(dataset.classes)} differ from the checkpoint's {list(meta['classes'])}")
    if split not in dataset.splits:
        raise UsageError(f"dataset '{dataset.name}' has no '{split}' split; it has {', '.join(dataset.splits)}")
    target = dataset.splits[split]
    mask = None
    if exclude_train_duplicates:
        if split == "train":
            raise UsageError("--exclude-train-duplicates makes no sense on the train split")
        mask = ~train_duplicate_mask(dataset, split)
    result = {
        "checkpoint": str(weights),
        "model": meta["model"],
        "data": dataset.name,
        "protocol": dataset.protocol,
        "synthetic": dataset.synthetic,
        "split": split,
        "excluded_train_duplicates": 0 if mask is None else int((~mask).sum()),
        **evaluate(model, meta, target, mask=mask),
    }
    if tta != "none":  # reported beside the plain number, never instead of it
        result["with_tta"] = evaluate(model, meta, target, tta=tta, mask=mask)
    return result


def remeasure_val_metrics(checkpoint: Path | str, data: str | None = None) -> dict[str, Any]:
    """The ``val`` metrics of a stored checkpoint, shaped like the trainer's ``val_metrics``, on ``data`` or the data it records.

    For tools that rewrite weights (a float16 copy, an ensemble) and must record what `fer eval` will then reproduce.
    """
    from fer_core.checkpoint import read_metadata

    recorded = read_metadata(checkpoint).get("data") or {}
    spec = data or recorded.get("spec")
    if not spec:
        raise UsageError(f"{checkpoint}: the checkpoint records no dataset; pass one")
    measured = evaluate_checkpoint(checkpoint, spec, split="val", data_options=None if data else recorded.get("options"))
    context = {"checkpoint", "model", "data", "protocol", "synthetic", "split", "excluded_train_duplicates"}
    return {key: value for key, value in measured.items() if key not in context}
