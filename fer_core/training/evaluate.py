"""The one evaluation driver: a model (in memory, or read from a checkpoint) plus data gives metrics.

``fer eval`` (``evaluate_checkpoint``), the trainer's validation (``evaluate``) and a bench cell's test split
(``evaluate_model`` on the model ``train()`` returns) all run through ``evaluate``, under one memory-layout rule:
the model and its inputs take the layout the run trained in (channels_last unless its config says otherwise).

A model scored on data whose classes differ (a FER-2013 model on CK+) is scored on the classes both share
(``shared_classes``): images of classes the model lacks are dropped, and each prediction is the argmax over the
shared classes' logits only; the result names what was dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
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
ALL = "all"  # the split name for every image of a dataset (its splits pooled)
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


@dataclass(frozen=True)
class SharedClasses:
    """How a model's classes meet a dataset's when they differ.

    ``classes``: the shared ones, in the model's order; ``logits``: the model output of each; ``label_map``: each
    dataset label's index in ``classes``, -1 for a class the model lacks; ``dropped``: the dataset classes the model
    lacks; ``unscored``: the model classes the dataset lacks (left out of the argmax).
    """

    classes: tuple[str, ...]
    logits: np.ndarray
    label_map: np.ndarray
    dropped: tuple[str, ...]
    unscored: tuple[str, ...]

    def dropped_counts(self, labels: np.ndarray, data_classes: tuple[str, ...]) -> dict[str, int]:
        """Images of ``labels`` per dropped class."""
        counts = np.bincount(labels.astype(np.int64), minlength=len(data_classes))
        return {name: int(counts[data_classes.index(name)]) for name in self.dropped}


def shared_classes(model_classes: tuple[str, ...] | list[str], data_classes: tuple[str, ...] | list[str]) -> SharedClasses | None:
    """None when the class lists are the same; else how to score on the shared classes (one ``DataError`` when none are)."""
    model_classes, data_classes = tuple(model_classes), tuple(data_classes)
    if model_classes == data_classes:
        return None
    shared = tuple(name for name in model_classes if name in data_classes)
    if not shared:
        raise DataError(f"the model's classes ({', '.join(model_classes)}) and the data's ({', '.join(data_classes)}) share none")
    label_map = np.array([shared.index(name) if name in shared else -1 for name in data_classes], dtype=np.int64)
    return SharedClasses(
        classes=shared,
        logits=np.array([model_classes.index(name) for name in shared], dtype=np.int64),
        label_map=label_map,
        dropped=tuple(name for name in data_classes if name not in shared),
        unscored=tuple(name for name in model_classes if name not in data_classes),
    )


def evaluate(
    model: nn.Module,
    meta: dict[str, Any],
    split: Split,
    *,
    tta: str = "none",
    mask: np.ndarray | None = None,
    shared: SharedClasses | None = None,
) -> dict[str, Any]:
    """Metrics of ``model`` (described by checkpoint ``meta``) on ``split``, optionally on the ``mask``-selected images only;
    with ``shared``, on the images of the shared classes only, each predicted among the shared classes."""
    import torch
    import torch.nn.functional as F

    images, labels = split.images, split.labels
    if shared is not None:
        known = shared.label_map[labels.astype(np.int64)] >= 0
        mask = known if mask is None else mask & known
    if mask is not None:
        images, labels = images[mask], labels[mask]
    if len(labels) == 0:
        raise DataError("nothing to evaluate: the split (after exclusions) is empty")
    prep = preprocessing_of(meta)
    model = in_eval_layout(model, meta)
    logits = predict_logits(model, images, prep, tta=tta, channels_last=uses_channels_last(meta))
    classes = meta["classes"]
    if shared is not None:
        logits, labels, classes = logits[:, shared.logits], shared.label_map[labels.astype(np.int64)], list(shared.classes)
    metrics = classification_metrics(labels, logits.argmax(axis=1), classes)
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
    ``split`` ``all``: every image of the dataset, its splits pooled (a dataset the model never trained on).
    When the dataset's classes differ from the model's, it is scored on the shared classes (``shared_classes``) and
    the result adds ``scored_classes``, ``classes_dropped`` (images per dataset class the model lacks),
    ``images_dropped`` and ``model_classes_unscored``.
    """
    from fer_core.data.dedup import train_duplicate_mask
    from fer_core.data.splits import pooled

    if tta not in TTA_MODES:
        raise UsageError(f"unknown test-time augmentation '{tta}'; choose from {', '.join(TTA_MODES)}")
    shared = shared_classes(meta["classes"], dataset.classes)
    if split != ALL and split not in dataset.splits:
        raise UsageError(f"dataset '{dataset.name}' has no '{split}' split; it has {', '.join(dataset.splits)}")
    target = pooled(dataset) if split == ALL else dataset.splits[split]
    mask = None
    if exclude_train_duplicates:
        if split in ("train", ALL):
            raise UsageError(f"--exclude-train-duplicates makes no sense on the {split} split")
        mask = ~train_duplicate_mask(dataset, split)
    result = {
        "checkpoint": "" if checkpoint is None else str(checkpoint),
        "model": meta["model"],
        "data": dataset.name,
        "protocol": dataset.protocol,
        "synthetic": dataset.synthetic,
        "split": split,
        "excluded_train_duplicates": 0 if mask is None else int((~mask).sum()),
    }
    if shared is not None:
        kept = target.labels if mask is None else target.labels[mask]
        dropped = shared.dropped_counts(kept, tuple(dataset.classes))
        result.update(
            scored_classes=list(shared.classes),
            classes_dropped=dropped,
            images_dropped=sum(dropped.values()),
            model_classes_unscored=list(shared.unscored),
        )
    result.update(evaluate(model, meta, target, mask=mask, shared=shared))
    if tta != "none":  # reported beside the plain number, never instead of it
        result["with_tta"] = evaluate(model, meta, target, tta=tta, mask=mask, shared=shared)
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
    """Load a fer checkpoint (a path, or an installed weights name such as ``fer-fast``) and a dataset (anything
    ``load_dataset`` takes) and measure one split (``evaluate_model``; ``all``: every image).

    A checkpoint trained on a fold (``config.fold``) is scored on that fold's splits of the data it was trained on.
    """
    weights, model, meta, dataset = _load(checkpoint, data, data_options, tta)
    return evaluate_model(model, meta, dataset, split=split, tta=tta, exclude_train_duplicates=exclude_train_duplicates, checkpoint=weights)


def evaluate_every_split(
    checkpoint: Path | str, data: str, *, tta: str = "none", data_options: dict[str, Any] | None = None
) -> dict[str, dict[str, Any]]:
    """``fer eval --split all``: ``evaluate_checkpoint`` on each split of the dataset, then on all its images (``all``),
    the model and data loaded once; keyed by split."""
    weights, model, meta, dataset = _load(checkpoint, data, data_options, tta)
    names = [*dataset.splits, *([ALL] if len(dataset.splits) > 1 else [])]
    return {name: evaluate_model(model, meta, dataset, split=name, tta=tta, checkpoint=weights) for name in names}


def _load(
    checkpoint: Path | str, data: str, data_options: dict[str, Any] | None, tta: str
) -> tuple[Path, nn.Module, dict[str, Any], Dataset]:
    from fer_core.checkpoint import load_checkpoint, resolve_checkpoint
    from fer_core.data.loading import load_dataset
    from fer_core.predict.weights import resolve_weights

    if tta not in TTA_MODES:
        raise UsageError(f"unknown test-time augmentation '{tta}'; choose from {', '.join(TTA_MODES)}")
    weights = resolve_checkpoint(resolve_weights(checkpoint))
    model, meta = load_checkpoint(weights)
    return weights, model, meta, recorded_fold(meta, load_dataset(data, options=data_options), data)


def recorded_fold(meta: Mapping[str, Any], dataset: Dataset, spec: str | None) -> Dataset:
    """``dataset`` as the checkpoint saw it: a model trained on a fold (``config.fold``) is scored on that fold's
    splits, when ``spec`` is the data it was trained on; any other data is used whole."""
    from fer_core.data.splits import fold_dataset

    fold = (meta.get("config") or {}).get("fold")
    if fold and spec is not None and spec == (meta.get("data") or {}).get("spec"):
        return fold_dataset(dataset, fold)
    return dataset


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
