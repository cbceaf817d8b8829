"""`ensemble`: several fer models in one module whose output is the log of their mean class probabilities."""

from fer_ensemble.model import Ensemble, EnsembleModule

__all__ = ["Ensemble", "EnsembleModule"]
