"""How `fer predict` prints its records: human lines, one JSON document, or CSV with one row per face."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from fer_core.predict.pipeline import Record

JSON_SCHEMA_VERSION = 1
CSV_FIELDS = ("source", "frame", "time_s", "status", "face", "x", "y", "w", "h", "label", "score")


def summarize(records: Sequence[Record]) -> dict[str, int]:
    return {
        "inputs": len(records),
        "with_faces": sum(r.status == "ok" for r in records),
        "no_face": sum(r.status == "no_face" for r in records),
        "failed": sum(r.status == "error" for r in records),
        "faces": sum(len(r.faces) for r in records),
    }


def json_document(records: Sequence[Record], header: dict[str, Any]) -> dict[str, Any]:
    return {"schema": JSON_SCHEMA_VERSION, **header, "results": [r.to_dict() for r in records], "summary": summarize(records)}


def csv_text(records: Sequence[Record], classes: Sequence[str]) -> str:
    """One row per face; an image or frame without faces, or that failed, still gets one row with its status."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=[*CSV_FIELDS, *classes, "error"], lineterminator="\n")
    writer.writeheader()
    for record in records:
        base = {"source": record.source, "frame": record.frame, "time_s": record.time_s, "status": record.status, "error": record.error}
        if not record.faces:
            writer.writerow(base)
        for number, face in enumerate(record.faces):
            box = face.box
            row = {**base, "face": number, "x": box.x, "y": box.y, "w": box.w, "h": box.h, "label": face.label}
            row["score"] = f"{face.score:.6f}"
            row.update({name: f"{p:.6f}" for name, p in face.probabilities.items()})
            writer.writerow(row)
    return buffer.getvalue()


def text_lines(record: Record) -> list[str]:
    where = record.source if record.frame is None else f"{record.source} frame {record.frame}"
    if record.error is not None:
        return [f"FAILED, skipped: {record.error}"]
    if not record.faces:
        return [f"{where}: no face found"]
    lines = []
    for number, face in enumerate(record.faces, 1):
        box = face.box
        ranked = sorted(face.probabilities.items(), key=lambda item: item[1], reverse=True)
        others = ", ".join(f"{name} {p:.2f}" for name, p in ranked)
        lines.append(f"{where}: face {number} at x={box.x} y={box.y} w={box.w} h={box.h}: {face.label} {face.score:.2f} ({others})")
    return lines
