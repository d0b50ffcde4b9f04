"""The table each step ends with: student, score, status, problems found.

Every cell (headers too) goes through :func:`.escape.for_terminal`: what students wrote
cannot move the cursor, clear the screen, set the clipboard or reorder the text.
"""

import shutil
import textwrap

from course_lib.grading.escape import for_terminal


def format_table(rows, headers=("student", "score", "status", "problems found")):
    """Render ``rows`` (tuples of values) as a plain-text table; the last column wraps."""
    headers = [for_terminal(h) for h in headers]
    rows = [tuple(for_terminal(v) for v in row) for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers[:-1])]
    room = max(30, shutil.get_terminal_size((110, 20)).columns - sum(widths) - 2 * len(widths))
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, [*widths, 0], strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in [*widths, len(headers[-1])]))
    for row in rows:
        wrapped = textwrap.wrap(row[-1], room) or [""]
        lead = "  ".join(v.ljust(w) for v, w in zip(row[:-1], widths, strict=True))
        lines.append(f"{lead}  {wrapped[0]}".rstrip())
        pad = " " * (len(lead) + 2)
        lines += [pad + more for more in wrapped[1:]]
    return "\n".join(lines)


def score_text(score, max_score, pending=0):
    """``"64 / 100"``; with points awaiting hand grading, ``"64 / 100, 18 not graded yet"``."""
    if score is None:
        return "-"
    return f"{score:g} / {max_score:g}" + (f", {pending:g} not graded yet" if pending else "")
