"""Timing and reporting helpers shared by the benchmarks."""

import statistics
import time
from dataclasses import dataclass


def interleaved_runs(candidates, repeats, timer=time.perf_counter):
    """Time each candidate ``repeats`` times, interleaved: round 1 runs A, B, C, round 2 again.

    Interleaving exposes every candidate to the same background load, and the runs of
    one round happen within seconds of each other, so their ratio cancels slow changes
    in the machine's speed (see :func:`paired_ratio`).

    Args:
        candidates: dict name -> ``prepare()``, a callable that sets up a fresh run (not
            timed) and returns the zero-argument callable that is timed.
        repeats: how many rounds.
        timer: ``time.perf_counter`` (wall clock) or, for single-threaded work on a busy
            machine, ``time.process_time`` (CPU time of this process, which does not count
            the time other processes hold the CPU).

    Returns:
        ``(times, results)``: dicts name -> list of seconds, one per round, and name ->
        what the last timed call returned.
    """
    times = {name: [] for name in candidates}
    results = {}
    for _ in range(repeats):
        for name, prepare in candidates.items():
            run = prepare()
            start = timer()
            results[name] = run()
            times[name].append(timer() - start)
    return times, results


def best_of(candidates, repeats, timer=time.perf_counter):
    """Like :func:`interleaved_runs`, keeping each candidate's fastest run.

    The minimum is the run least disturbed by other processes. Returns ``(seconds,
    results)``: dicts name -> fastest time, and name -> what the last call returned.
    """
    times, results = interleaved_runs(candidates, repeats, timer)
    return {name: min(runs) for name, runs in times.items()}, results


def paired_ratio(times, name, baseline):
    """Median over rounds of ``times[name][r] / times[baseline][r]``.

    On a shared machine the speed drifts over seconds; a ratio taken within one round
    cancels the drift, and the median ignores the rounds a burst of load hit one side.
    """
    return statistics.median(
        run / base for run, base in zip(times[name], times[baseline], strict=True)
    )


def timed(function, *args, **kwargs):
    """``(seconds, result)`` of one call."""
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - start, result


@dataclass
class Table:
    """A titled table that renders as Markdown, readable in a terminal and in README.md."""

    title: str
    headers: list
    rows: list
    notes: list

    def to_markdown(self):
        cells = [self.headers] + [[_cell(value) for value in row] for row in self.rows]
        widths = [max(len(row[i]) for row in cells) for i in range(len(self.headers))]

        def line(row):
            padded = (text.ljust(width) for text, width in zip(row, widths, strict=True))
            return "| " + " | ".join(padded) + " |"

        out = [f"### {self.title}", "", line(cells[0])]
        out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
        out.extend(line(row) for row in cells[1:])
        if self.notes:
            out.append("")
            out.extend(f"- {note}" for note in self.notes)
        return "\n".join(out)


def _cell(value):
    if isinstance(value, float):
        if value == 0 or 0.01 <= abs(value) < 1e5:
            return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
        return f"{value:.2e}"
    return str(value)


def verdict(met):
    """The word a results table uses for a target."""
    return "met" if met else "MISSED"
