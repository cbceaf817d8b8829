"""What a training run shows on stderr: a rich progress bar per epoch and one summary line after it."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


class EpochProgress:
    """Shows nothing when ``quiet``."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.console = Console(stderr=True, soft_wrap=True)
        self._progress: Progress | None = None
        self._task: Any = None
        self._log: tuple[int, int, int, int] | None = None

    def message(self, text: str) -> None:
        if not self.quiet:
            self.console.print(text, highlight=False)

    def start(self, epoch: int, epochs: int, batches: int) -> None:
        if self.quiet:
            return
        if not self.console.is_terminal:  # a log file: a plain line every tenth of the epoch instead of a live bar
            self._log = (epoch, epochs, batches, 0)
            return
        self._progress = Progress(
            TextColumn(f"epoch {epoch}/{epochs}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]:.4f}  acc {task.fields[acc]:.3f}  macro-F1 {task.fields[f1]:.3f}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=self.console,
            transient=True,
        )
        self._progress.start()
        self._task = self._progress.add_task("train", total=batches, loss=0.0, acc=0.0, f1=0.0)

    def advance(self, loss: float, acc: float, f1: float, batches_done: int = 1) -> None:
        """``batches_done`` batches finished since the last call; the figures are the epoch's running ones."""
        if self._progress is not None:
            self._progress.update(self._task, advance=batches_done, loss=loss, acc=acc, f1=f1)
        elif self._log is not None:
            epoch, epochs, batches, before = self._log
            done = before + batches_done
            self._log = (epoch, epochs, batches, done)
            step = max(1, batches // 10)
            if done // step > before // step or done == batches:
                self.message(f"epoch {epoch}/{epochs}  batch {done}/{batches}  loss {loss:.4f}  acc {acc:.3f}  macro-F1 {f1:.3f}")

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
        self._log = None

    def epoch_done(self, row: dict[str, Any], improved: bool) -> None:
        """One line per epoch; ``lr`` is the learning rate its batches used (first to last, when a schedule moved it)."""
        mark = " [green]*best*[/]" if improved else ""
        last = row.get("lr_last", row["lr"])
        lr = f"{row['lr']:.2e}" if f"{last:.2e}" == f"{row['lr']:.2e}" else f"{row['lr']:.2e}->{last:.2e}"
        fraction = row.get("epoch_fraction", 1.0)
        part = f" ({fraction:.0%} of the epoch: time budget spent)" if fraction < 1 else ""
        self.message(
            f"epoch {row['epoch']:>3}  train loss {row['train_loss']:.4f} acc {row['train_acc']:.3f} macro-F1 {row['train_macro_f1']:.3f}"
            f"  |  val loss {row['val_loss']:.4f} acc {row['val_acc']:.3f} macro-F1 {row['val_macro_f1']:.3f}"
            f"  |  lr {lr}  {row['seconds']:.1f}s{part}{mark}"
        )
