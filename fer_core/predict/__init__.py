"""Prediction on photos, folders, videos and webcams; face detectors; ONNX/TorchScript export."""

from fer_core.predict.predictor import FacePrediction, Predictor

__all__ = ["FacePrediction", "Predictor"]
