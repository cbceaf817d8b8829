"""Run the grid on a Ray cluster: one Ray task per cell, each calling the same ``run_job`` as a local run.

Workers write their cell folders into the run folder, which should be on storage that every node
mounts at the same path (NFS, ...). The driver also writes any returned ``result.json`` that its own
view of the run folder lacks, so results.csv is complete even without shared storage (the
checkpoints then stay on the workers). Each data spec is loaded once by the driver and ``ray.put``
once; tasks read it from their node's object store (numpy arrays zero-copy), never reload it.

A task whose worker dies, or that raises past ``run_job`` (a failing cell does not raise: it is a
result), is retried ``max_retries`` times by Ray and then recorded as a failed cell.
"""

from __future__ import annotations

import logging
import os
import traceback
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from fer_core import atomic
from fer_core.bench.cell import ERROR_FILE, RESULT_FILE, CellResult, read_result
from fer_core.bench.executors import CellEvent, OnEvent, ignore_event
from fer_core.bench.jobs import Job, run_job
from fer_core.errors import FerError, UsageError

if TYPE_CHECKING:
    from ray.util.queue import Queue

    from fer_core.api import Dataset

INSTALL_HINT = "pip install 'fer-core[ray]'"
AUTH_MODE_ENV = "RAY_AUTH_MODE"
ADDRESS_ENV = "RAY_ADDRESS"
LOCAL = "local"
FAILED_STEP = "run on Ray"


def import_ray() -> ModuleType:
    try:
        import ray
    except ImportError:
        raise FerError(f"--executor ray needs Ray, which is not installed; install it with: {INSTALL_HINT}") from None
    return ray


def _run_cell(job: Job, run_dir: str, dataset: Dataset, command: str | None, started: Queue) -> CellResult:
    """The Ray task: announce the start (for the driver's progress display), then run the cell."""
    started.put(job.cell_id)
    return run_job(job, run_dir, dataset, command=command)


def _first_line(exc: BaseException) -> str:
    cause = getattr(exc, "cause", None)  # RayTaskError wraps the task's own exception
    shown = cause if isinstance(cause, BaseException) else exc
    lines = str(shown).strip().splitlines()
    return f"{type(shown).__name__}: {lines[0]}" if lines else type(shown).__name__


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def lost_cell(job: Job, exc: BaseException, attempts: int) -> CellResult:
    """The result of a cell whose task never returned one (worker died, node lost, cancelled, ...)."""
    return CellResult.failed(
        job,
        error=f"gave up after {attempts} attempt(s): {_first_line(exc)}",
        failed_step=FAILED_STEP,
        finished_at=_now(),
    )


class RayExecutor:
    """Submits every job as a Ray task with the declared resources and yields results as they finish.

    ``address``: ``"local"`` starts a private local cluster, ``"auto"`` joins the cluster started with
    ``ray start`` on this machine, ``"ray://host:10001"`` connects through Ray Client, ``"host:6379"``
    to a cluster's head. None means ``RAY_ADDRESS`` if set, else ``"local"``: never a guess at a
    cluster that may since have died (Ray would retry connecting to it for minutes).
    An already initialised Ray (notebooks, tests) is used as it is and left running.
    A cell trains with the thread count its recipe carries (``plan_jobs`` sets one, as for a local run), and
    its task reserves that many CPUs unless ``cpus_per_job`` says how many.
    """

    def __init__(
        self,
        address: str | None = None,
        *,
        cpus_per_job: int | None = None,
        gpus_per_job: float = 0.0,
        max_retries: int = 2,
        datasets: Mapping[str, Dataset] | None = None,
        command: str | None = None,
        init_options: Mapping[str, Any] | None = None,
        poll_s: float = 0.5,
    ) -> None:
        if cpus_per_job is not None and cpus_per_job < 1:
            raise UsageError(f"--cpus-per-job must be >= 1, got {cpus_per_job}")
        if gpus_per_job < 0:
            raise UsageError(f"--gpus-per-job must be >= 0, got {gpus_per_job}")
        if max_retries < 0:
            raise UsageError(f"--max-retries must be >= 0, got {max_retries}")
        import_ray()  # chosen, so it must be installed: say so before the grid starts
        self.address = address
        self.cpus_per_job = cpus_per_job
        self.gpus_per_job = gpus_per_job
        self.max_retries = max_retries
        self.command = command
        self.init_options = dict(init_options or {})
        self.poll_s = poll_s
        self._datasets: dict[str, Dataset] = dict(datasets or {})

    def run(self, jobs: Sequence[Job], run_dir: Path, on_event: OnEvent = ignore_event) -> Iterator[CellResult]:
        if not jobs:
            return
        ray = import_ray()
        started_here = self._connect(ray)
        try:
            self._check_resources(ray, jobs)
            yield from self._run(ray, jobs, Path(run_dir).resolve(), on_event)
        finally:
            if started_here:
                ray.shutdown()

    def _connect(self, ray: ModuleType) -> bool:
        """Initialise Ray unless it already is; True when this call did (and so must shut it down)."""
        if ray.is_initialized():
            return False
        address = self.address or os.environ.get(ADDRESS_ENV) or LOCAL
        options: dict[str, Any] = {"logging_level": logging.WARNING, "log_to_driver": False}
        if address == LOCAL:
            options["include_dashboard"] = False
        options.update(self.init_options)
        try:
            ray.init(address=address, **options)
        except Exception as exc:  # ConnectionError, ValueError for a bad address, RuntimeError, ...
            hint = ""
            if address not in (LOCAL, "auto") and not os.environ.get(AUTH_MODE_ENV):
                hint = f" (a cluster with token authentication also needs {AUTH_MODE_ENV}=token and its token, see docs/ray.md)"
            raise FerError(f"cannot start or reach a Ray cluster at {address}: {_first_line(exc)}{hint}") from None
        return True

    def _cpus(self, job: Job) -> int:
        """The CPUs a cell's task reserves: ``cpus_per_job``, else the threads it trains with."""
        return self.cpus_per_job or int(job.config.get("threads") or 1)

    def _check_resources(self, ray: ModuleType, jobs: Sequence[Job]) -> None:
        """Fail now rather than leave every task pending forever on a cluster that cannot hold one."""
        total = ray.cluster_resources()
        cpus, gpus = total.get("CPU", 0), total.get("GPU", 0)
        wanted = max(self._cpus(job) for job in jobs)
        if wanted > cpus or self.gpus_per_job > gpus:
            raise UsageError(
                f"the Ray cluster has {cpus:g} CPU(s) and {gpus:g} GPU(s) in all, but each cell asks for "
                f"--cpus-per-job {wanted} --gpus-per-job {self.gpus_per_job:g}"
            )

    def _dataset(self, spec: str) -> Dataset:
        if spec not in self._datasets:
            from fer_core.data.loading import load_dataset

            self._datasets[spec] = load_dataset(spec)  # a bad --data fails the whole grid at once, with one line
        return self._datasets[spec]

    def _with_threads(self, job: Job) -> Job:
        """A job planned before cells carried their thread count trains with the CPUs its task reserves."""
        if job.config.get("threads"):
            return job
        return replace(job, config={**job.config, "threads": self._cpus(job)})  # threads is not part of the config hash

    def _run(self, ray: ModuleType, jobs: Sequence[Job], run_dir: Path, on_event: OnEvent) -> Iterator[CellResult]:
        from ray.util.queue import Queue

        data_refs = {spec: ray.put(self._dataset(spec)) for spec in dict.fromkeys(job.data for job in jobs)}
        started = Queue(actor_options={"num_cpus": 0})
        task = ray.remote(_run_cell)
        resources = {"num_gpus": self.gpus_per_job, "max_retries": self.max_retries, "retry_exceptions": True}
        by_id = {job.cell_id: job for job in jobs}
        for job in jobs:
            on_event(CellEvent("queued", job))
        pending = {
            task.options(num_cpus=self._cpus(job), **resources).remote(
                self._with_threads(job), str(run_dir), data_refs[job.data], self.command, started
            ): job
            for job in jobs
        }
        try:
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1, timeout=self.poll_s)
                if ready:
                    ready, _ = ray.wait(list(pending), num_returns=len(pending), timeout=0)
                for cell_id in _drain(started):
                    on_event(CellEvent("started", by_id[cell_id]))
                for ref in ready:
                    job = pending.pop(ref)
                    result = self._collect(ray, ref, job, run_dir)
                    on_event(CellEvent("finished", job, result))
                    yield result
        finally:
            for ref in pending:  # interrupted: unfinished cells keep their resume state for the next run
                ray.cancel(ref, force=True)
            started.shutdown()

    def _collect(self, ray: ModuleType, ref: Any, job: Job, run_dir: Path) -> CellResult:
        cell_dir = run_dir / job.cell_dir
        try:
            result: CellResult = ray.get(ref)
        except ray.exceptions.RayError as exc:
            result = lost_cell(job, exc, attempts=self.max_retries + 1)
            details = "".join(traceback.format_exception(exc))
            atomic.write_text(cell_dir / ERROR_FILE, f"cell {job.cell_id} failed while: {FAILED_STEP}\n\n{details}")
            atomic.write_json(cell_dir / RESULT_FILE, result.to_dict())
            return result
        if read_result(cell_dir) is None:  # the worker wrote it on storage this machine does not see
            atomic.write_json(cell_dir / RESULT_FILE, result.to_dict())
        return result


def _drain(queue: Queue) -> list[str]:
    waiting = queue.qsize()
    return queue.get_nowait_batch(waiting) if waiting else []
