"""The one evaluation driver: a model (in memory, or read from a checkpoint) plus data gives metrics.

``fer eval`` (``evaluate_checkpoint``), the trainer's validation (``evaluate``) and a bench cell's test split
(``evaluate_model`` on the model ``train()`` returns) all run through ``evaluate``, under one memory-layout rule:
the model and its inputs take the layout the run trained in (channels_last unless its config says otherwise).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from fer_core.api import Dataset, Split
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
    images = images_uint8 if _conformed(images_uint8, prep) else conform_images(images_uint8, prep.channels, prep.size)
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


def _conformed(images: np.ndarray, prep: Preprocessing) -> bool:
    """Already uint8 at the model's size and channels (the trainer conforms its splits once)."""
    expected = (prep.size, prep.size) if prep.channels == 1 else (prep.size, prep.size, prep.channels)
    return images.dtype == np.uint8 and images.ndim in (3, 4) and tuple(images.shape[1:]) == expected and images.flags.c_contiguous


def preprocessing_of(meta: dict[str, Any]) -> Preprocessing:
    """The checkpoint's preprocessing; an in-memory record may hold tuples where its JSON form holds lists."""
    record = meta["preprocessing"]
    if isinstance(record, dict):
        record = {key: list(value) if isinstance(value, tuple) else value for key, value in record.items()}
    return Preprocessing.from_dict(record)


def uses_channels_last(meta: dict[str, Any]) -> bool:
    """The layout rule: the one the run trained in (``config.channels_last``); contiguous when the metadata has no config."""
    config = meta.get("config")
    return bool(config.get("channels_last", False)) if isinstance(config, dict) else False


def in_eval_layout(model: nn.Module, meta: dict[str, Any]) -> nn.Module:
    """``model`` (in place) in the memory layout it trained in, so evaluation runs the kernels validation ran."""
    import torch

    return model.to(memory_format=torch.channels_last if uses_channels_last(meta) else torch.contiguous_format)


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
    """Metrics of ``model`` (described by checkpoint ``meta``) on ``split``, optionally on the ``mask``-selected images only."""
    import torch
    import torch.nn.functional as F

    images, labels = split.images, split.labels
    if mask is not None:
        images, labels = images[mask], labels[mask]
    if len(labels) == 0:
        raise DataError("nothing to evaluate: the split (after exclusions) is empty")
    prep = preprocessing_of(meta)
    model = in_eval_layout(model, meta)
    logits = predict_logits(model, images, prep, tta=tta, channels_last=uses_channels_last(meta))
    metrics = classification_metrics(labels, logits.argmax(axis=1), meta["classes"])
    metrics["loss"] = float(F.cross_entropy(torch.from_numpy(logits), torch.from_numpy(labels.astype(np.int64))))
    metrics["tta"] = tta
    return metrics


def evaluate_model(
    model: nn.Module,
    meta: dict[str, Any],
    dataset: Dataset,
    *,
    split: str = "val",
    tta: str = "none",
    exclude_train_duplicates: bool = False,
    checkpoint: Path | str | None = None,
) -> dict[str, Any]:
    """Metrics of an in-memory ``model`` (with its checkpoint ``meta``) on one split of ``dataset``, with their context.

    The top-level metrics are always the plain ones; with ``tta`` they come again under ``with_tta``.
    """
    from fer_core.data.dedup import train_duplicate_mask

    if tta not in TTA_MODES:
        raise UsageError(f"unknown test-time augmentation '{tta}'; choose from {', '.join(TTA_MODES)}")
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
        "checkpoint": "" if checkpoint is None else str(checkpoint),
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


def evaluate_checkpoint(
    checkpoint: Path | str,
    data: str,
    *,
    split: str = "val",
    tta: str = "none",
    exclude_train_duplicates: bool = False,
    data_options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Load a fer checkpoint and a dataset (anything ``load_dataset`` takes) and measure one split (``evaluate_model``)."""
    from fer_core.checkpoint import load_checkpoint, resolve_checkpoint
    from fer_core.data.loading import load_dataset

    if tta not in TTA_MODES:
        raise UsageError(f"unknown test-time augmentation '{tta}'; choose from {', '.join(TTA_MODES)}")
    weights = resolve_checkpoint(checkpoint)
    model, meta = load_checkpoint(weights)
    dataset = load_dataset(data, options=data_options)
    return evaluate_model(model, meta, dataset, split=split, tta=tta, exclude_train_duplicates=exclude_train_duplicates, checkpoint=weights)


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
