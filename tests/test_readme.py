"""The README's promise: its few lines train the digits MLP to at least 95% held out."""

import contextlib
import io
import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks(text):
    return re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)


def test_readme_example_reaches_95_percent_on_digits():
    (example,) = [b for b in python_blocks(README.read_text()) if "digits()" in b]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(example, str(README), "exec"), {})
    accuracy = float(printed.getvalue().split()[-1])
    assert accuracy >= 0.95, f"README example reached only {accuracy:.3f}"
