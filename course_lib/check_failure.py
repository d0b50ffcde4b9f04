"""A check's failure message that knows which of its values the student's code returned.

A message such as ``"dW from linear_backward with x (4, 3): wrong values at index (0, 1):
got 98.9, expected -2.14"`` holds three kinds of text: the check's own words, the test's
values (the shapes it chose, the reference's value) and values computed from what the
student's code returned ("got 98.9", and the index, which the student's values choose).
A :class:`CheckFailure` keeps them apart: it is built from a template of the check's own
words and named fields, the student's among them wrapped in :class:`Returned`.

Its ``str()`` is the whole message, as a student running the cell sees it.
:meth:`CheckFailure.without_returned` writes each returned value as "…": the grader shows
that once a hidden test has passed its inputs to the student's code, which could return
them in any later value (:mod:`course_lib.grading.harness`). Which of a check's fixed
sentences is raised (the hint that fits the mistake) stays visible: that choice is a
few bits the student's code can steer, as it steers whether a test passes at all.
"""

import string

HIDDEN_VALUE = "…"


class Returned:
    """A field value computed from what the student's code returned."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


class _Filler(string.Formatter):
    """``str.format`` that writes :class:`Returned` fields whole, or as "…" (``hide``)."""

    def __init__(self, hide):
        super().__init__()
        self.hide = hide

    def convert_field(self, value, conversion):
        if isinstance(value, Returned):
            return Returned(super().convert_field(value.value, conversion))
        return super().convert_field(value, conversion)

    def format_field(self, value, format_spec):
        if isinstance(value, Returned):
            return HIDDEN_VALUE if self.hide else super().format_field(value.value, format_spec)
        return super().format_field(value, format_spec)


class CheckFailure(AssertionError):
    """A failed check: ``template`` (the check's own words, ``str.format`` syntax) filled
    with ``fields``; a field wrapped in :class:`Returned` came from the student's code.

    >>> e = CheckFailure("{what}: got {got:.3g}", what="mean", got=Returned(2.0 / 3))
    >>> str(e), e.without_returned()
    ('mean: got 0.667', 'mean: got …')
    """

    def __init__(self, template, **fields):
        self.template, self.fields = template, fields
        super().__init__(_Filler(hide=False).format(template, **fields))

    def without_returned(self):
        """The message with every returned value written as "…"."""
        return _Filler(hide=True).format(self.template, **self.fields)
