"""The timing and machine-description helpers that fer bench and the benchmarks/ scripts share."""

import os
import subprocess
import sys

from fer_core.bench.environment import describe_machine, format_load, load_average
from fer_core.bench.measure import Stopwatch, step_times


def test_step_times_warms_up_once_then_times_within_its_bounds():
    calls = []
    times = step_times(lambda: calls.append(1), 0.0, min_steps=4, max_steps=4)
    assert len(times) == 4 and len(calls) == 5  # the first call is the untimed warm-up
    assert all(t >= 0 for t in times)
    assert len(step_times(lambda: None, 10.0, min_steps=1, max_steps=7)) == 7  # the cap ends a long budget


def test_stopwatch_counts_wall_and_cpu_seconds_of_its_block():
    with Stopwatch() as clock:
        total = sum(i * i for i in range(300_000))
    assert total > 0
    assert clock.wall > 0 and clock.cpu > 0
    assert clock.cpu <= clock.wall * (os.cpu_count() or 1) + 0.05


def test_machine_line_names_cpus_threads_and_load():
    line = describe_machine(threads=1)
    assert f"{os.cpu_count()} logical CPUs" in line and "1 torch thread(s)" in line and "torch " in line
    assert "; load average " in line
    load = load_average()
    assert load is None or (len(load) == 3 and all(x >= 0 for x in load))
    assert format_load(None) == "unknown" and format_load([1.0, 0.5, 0.25]) == "1.00, 0.50, 0.25"


def test_peak_rss_grows_with_what_the_process_holds():
    probe = (
        "from fer_core.bench.measure import peak_rss_mb\n"
        "before = peak_rss_mb()\n"
        "block = bytearray(b'x') * (100 * 2**20)\n"
        "print(before, peak_rss_mb())\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    before, after = map(float, done.stdout.split())
    assert before > 0 and after - before >= 90  # a fresh interpreter's peak, then 100 MiB more
