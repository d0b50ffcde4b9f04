"""Timing and reporting helpers shared by the benchmarks."""

import time
from dataclasses import dataclass


def best_of(candidates, repeats, timer=time.perf_counter):
    """Time each candidate ``repeats`` times, interleaved, and keep each one's fastest run.

    Interleaving (A, B, C, A, B, C, ...) exposes every candidate to the same background
    load; the minimum is the run least disturbed by other processes.

    Args:
        candidates: dict name -> ``prepare()``, a callable that sets up a fresh run (not
            timed) and returns the zero-argument callable that is timed.
        repeats: how many times to run each.
        timer: ``time.perf_counter`` (wall clock) or, for single-threaded work on a busy
            machine, ``time.process_time`` (CPU time of this process, which does not count
            the time other processes hold the CPU).

    Returns:
        ``(seconds, results)``: dicts name -> fastest time, and name -> what the last
        timed call returned.
    """
    best = {name: float("inf") for name in candidates}
    results = {}
    for _ in range(repeats):
        for name, prepare in candidates.items():
            run = prepare()
            start = timer()
            results[name] = run()
            best[name] = min(best[name], timer() - start)
    return best, results


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
