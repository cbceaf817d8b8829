"""A SYNTHETIC mark drawn inside every figure made from generated data (bench plots and training curves).

A figure copied out of its report loses the report's warning; the mark travels with the image. It is
drawn in figure coordinates, so it does not depend on the axes, and kept light enough not to hide data.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

MARK = "SYNTHETIC DATA"


def mark_synthetic(fig: Figure, synthetic: bool | None = True) -> Figure:
    """Stamp ``fig`` with a diagonal SYNTHETIC DATA mark across it and a plain line at its bottom; no-op when not synthetic."""
    if not synthetic:
        return fig
    fig.text(0.5, 0.5, MARK, fontsize=38, color="red", alpha=0.13, ha="center", va="center", rotation=25, weight="bold", zorder=100)
    fig.text(
        0.995,
        0.005,
        f"{MARK}: generated images, not real faces",
        fontsize=8,
        color="darkred",
        ha="right",
        va="bottom",
        zorder=100,
    )
    return fig
