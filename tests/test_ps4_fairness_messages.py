"""What the trusted test process shows of an error from the student's code.

The student's code runs here in-process behind the real agent (``agent.call``) and the
real harness (``harness.run_test``), the JSON lines between them relayed as the grader
relays them. A message is withheld exactly when it could carry a hidden test's inputs:
raised while a hidden line runs, or after a hidden line passed data to the student's
code (which could have kept it). A withheld message still names the student's function
and the exception's type and says why; a visible test's message is shown otherwise.
"""

import json
import types

import numpy as np
import pytest

from course_lib.grading import agent, harness

SECRET = [-7.25, 3.5]  # a "hidden input": it must never reach a message
IMPORTS = [("np", "numpy", "")]


class FakeGrader(harness.Link):
    """The harness's link, its other end the agent in this process (the student's
    kernel), whose namespace is ``namespace``."""

    def __init__(self, namespace):
        super().__init__(reader=None, writer=None)
        self.namespace, self.pending = namespace, None

    def send(self, **message):
        assert message["op"] == "call"
        self.pending = agent.call(message["name"], message["request"])

    def receive(self):
        answer, self.pending = self.pending, None
        return {"op": "reply", "answer": answer}


@pytest.fixture
def student(monkeypatch):
    namespace = {"np": np}
    monkeypatch.setattr(agent, "_shell", lambda: types.SimpleNamespace(user_ns=namespace))
    return namespace


def run(namespace, source, after_hidden=False, label="test_x", why_missing=None):
    names = harness.student_names(source, IMPORTS)
    message = {"op": "run", "label": label, "source": source, "imports": IMPORTS,
               "names": agent.describe(names), "why_missing": why_missing or {},
               "after_hidden": after_hidden}
    return harness.run_test(message, FakeGrader(namespace))


def define(namespace, code):
    exec(code, namespace)


KEEPS_AND_RAISES = """
KEPT = []
def square(x):
    KEPT.append(np.asarray(x).tolist())
    if np.asarray(x).tolist() != [0.0, 1.0, 2.0]:
        raise ValueError('LEAK ' + repr(KEPT))
    return x * x
"""
VISIBLE = "got = square(np.arange(3.0))\nassert np.allclose(got, [0, 1, 4])\n"
HIDDEN = ("got = square(np.arange(3.0))\n### BEGIN HIDDEN TESTS\n"
          f"got = square(np.array({SECRET}))\n### END HIDDEN TESTS\n")


def test_a_visible_tests_error_is_shown_with_function_and_type(student):
    define(student, "def square(x):\n    raise ValueError('shapes (3,) and (2,) differ')")
    done = run(student, VISIBLE)
    assert done["passed"] is False and done["hidden_called"] is False
    assert done["ename"] == "ValueError"
    assert done["evalue"] == "raised by your square: shapes (3,) and (2,) differ"


def test_an_error_raised_in_a_hidden_test_keeps_its_function_not_type_or_message(student):
    define(student, KEEPS_AND_RAISES)
    done = run(student, HIDDEN)
    assert done["passed"] is False and done["hidden_called"] is True
    assert done["ename"] == "Exception"
    assert done["evalue"].startswith("raised by your square: (its type and message are not "
                                     "shown: this is a hidden test")
    assert "LEAK" not in json.dumps(done) and "7.25" not in json.dumps(done)


def test_a_visible_tests_error_after_hidden_inputs_reached_the_code_is_withheld(student):
    """The student's code kept the hidden input: a later visible test's message would
    carry it, so it is withheld, saying why and where to see it."""
    define(student, "KEPT = []\n"
                    "def square(x):\n    KEPT.append(np.asarray(x).tolist())\n"
                    "    return x * x\n"
                    "def mean(x):\n    raise ValueError('LEAK ' + repr(KEPT))\n")
    first = run(student, HIDDEN)
    assert first["passed"] is True and first["hidden_called"] is True
    assert student["KEPT"][-1] == SECRET  # the kernel did keep the hidden input
    done = run(student, "assert mean([1.0, 2.0]) == 1.5\n",
               after_hidden=first["hidden_called"], label="test_mean")
    assert done["ename"] == "Exception" and "LEAK" not in done["evalue"]
    assert "7.25" not in done["evalue"]
    assert done["evalue"].startswith("raised by your mean: (its type and message are not "
                                     "shown: hidden tests ran before this one")
    assert "run its cell in your notebook" in done["evalue"]


def test_a_visible_line_after_a_hidden_block_of_the_same_test_is_withheld_too(student):
    define(student, "KEPT = []\n"
                    "def square(x):\n    KEPT.append(np.asarray(x).tolist())\n"
                    "    return x * x\n"
                    "def mean(x):\n    raise ValueError('LEAK ' + repr(KEPT))\n")
    done = run(student, HIDDEN + "mean([1.0])\n")
    assert done["hidden_called"] is True and "LEAK" not in done["evalue"]
    assert "hidden tests ran before this one" in done["evalue"]


def test_only_hidden_lines_that_call_the_students_code_taint_later_messages(student):
    """A visible call, or a hidden block that only reads a value, passes no hidden input
    to the student's code."""
    define(student, "def square(x):\n    return x * x\nanswer = 4.0\n")
    assert run(student, VISIBLE)["hidden_called"] is False
    reads_only = ("got = square(np.arange(3.0))\n### BEGIN HIDDEN TESTS\n"
                  "assert answer == 4.0\n### END HIDDEN TESTS\n")
    done = run(student, reads_only)
    assert done["passed"] is True and done["hidden_called"] is False
    done = run(student, HIDDEN)
    assert done["passed"] is True and done["hidden_called"] is True


def test_the_hidden_check_of_a_helper_counts_as_hidden(student):
    """A call made by a function (a check, a lambda) that a hidden line called."""
    define(student, "def square(x):\n    raise ValueError('LEAK')\n")
    source = ("def check(f, x):\n    return f(np.asarray(x))\n"
              "### BEGIN HIDDEN TESTS\n"
              f"check(lambda v: square(v), {SECRET})\n### END HIDDEN TESTS\n")
    done = run(student, source)
    assert done["hidden_called"] is True and "LEAK" not in done["evalue"]
    assert done["evalue"].startswith("raised by your square: (its type and message are not "
                                     "shown: this is a hidden test")


def test_data_that_cannot_cross_names_the_function_in_every_case(student):
    define(student, "class Leak_m7_25:\n    pass\n"
                    "def square(x):\n    return Leak_m7_25()\n")
    shown = run(student, VISIBLE)
    assert shown["ename"] == "StudentDataError"
    assert shown["evalue"].startswith("square returned a Leak_m7_25 object")
    hidden = run(student, HIDDEN.replace("got = square(np.arange(3.0))\n", "", 1))
    assert hidden["ename"] == "StudentDataError" and "Leak" not in hidden["evalue"]
    assert hidden["evalue"].startswith("square returned something the grader cannot receive")
    assert "this is a hidden test" in hidden["evalue"]
    after = run(student, VISIBLE, after_hidden=True)
    assert after["ename"] == "StudentDataError" and "Leak" not in after["evalue"]
    assert after["evalue"].startswith("square returned something the grader cannot receive")
    assert "hidden tests ran before this one" in after["evalue"]


def test_a_notebook_value_that_cannot_cross_is_named_in_every_case(student):
    define(student, "class Leak_m7_25:\n    pass\nreport = Leak_m7_25()\n")
    shown = run(student, "assert report is not None\n")
    assert shown["ename"] == "NotReceived" and "Leak_m7_25" in shown["evalue"]
    after = run(student, "assert report is not None\n", after_hidden=True)
    assert after["ename"] == "NotReceived" and "Leak" not in after["evalue"]
    assert after["evalue"].startswith("report holds something the grader cannot read")


def test_subclass_answers_reach_the_test_as_plain_values(student):
    define(student, "import collections\nG = collections.namedtuple('G', 'a b')\n"
                    "def grads(x):\n    return G(x, 2 * x)\n"
                    "def params():\n"
                    "    return collections.OrderedDict(W=np.ones(2, np.longdouble))\n")
    source = ("a, b = grads(np.ones(2))\nassert np.array_equal(b, [2.0, 2.0])\n"
              "p = params()\nassert type(p) is dict and p['W'].dtype == np.float64\n")
    done = run(student, source)
    assert done["passed"] is True, done


def test_a_withheld_exception_reads_the_same_whatever_it_was(student):
    """Its type, or whether it had a message, would be bits the student's code chooses."""
    shown = set()
    for raised in ("KeyError()", "ValueError('x')", "type('Leak_m7_25', (Exception,), {})()",
                   "ArithmeticError()"):
        define(student, f"def square(x):\n    raise {raised}\n")
        done = run(student, VISIBLE, after_hidden=True)
        shown.add((done["ename"], done["evalue"]))
    assert shown == {("Exception", "raised by your square: (its type and message are not "
                                   f"shown: {harness.AFTER_HIDDEN_REASON})")}
    define(student, "def square(x):\n    raise KeyError()\n")
    assert run(student, VISIBLE)["evalue"] == "raised by your square"  # before: shown


def test_a_subclass_container_still_carries_nothing_but_plain_data(student):
    define(student, "import collections\nclass Leak:\n    pass\n"
                    "def square(x):\n    return collections.OrderedDict(a=Leak())\n")
    done = run(student, VISIBLE)
    assert done["ename"] == "StudentDataError" and "a Leak object" in done["evalue"]


# A test's own failure message: after hidden inputs reached the student's code, only the
# test's own words are shown (course_lib.check_failure, harness.shown_test_message).

LINEAR_CHECK = ("from course_lib import ps4_checks as checks\n"
                "checks.check_linear_forward(linear_forward, n=4, d_in=3, d_out=2, seed=0)\n")
# a value the student's code kept from a hidden test, spelt out so that no number shows
SPELT = "mv2p0 v5p0"


@pytest.mark.parametrize("returned, shown", [
    (f"""'a\\'b" LEAK {SPELT} END'""", "output of linear_forward with x (4, 3), W (3, 2), "
     "b (2,): expected a numpy array of shape (4, 2), got a …"),
    ("['z' * 1815]", "output of linear_forward with x (4, 3), W (3, 2), b (2,): "
     "expected a numpy array of shape (4, 2), got a …"),
    ("np.full((4, 2), 555.555)", "output of linear_forward with x (4, 3), W (3, 2), b (2,): "
     "wrong values at index …: got …, expected … (… of 8 entries differ)"),
])
def test_after_hidden_inputs_a_check_keeps_its_words_and_hides_what_was_returned(
        student, returned, shown):
    define(student, f"def linear_forward(x, W, b):\n    return {returned}\n")
    done = run(student, LINEAR_CHECK, after_hidden=True)
    assert done["ename"] == "CheckFailure"
    assert done["evalue"].startswith(shown + " (what your code returned is shown as …: "
                                     "hidden tests ran before this one"), done["evalue"]
    for leak in ("LEAK", SPELT, "1815", "555"):
        assert leak not in done["evalue"]
    assert run(student, LINEAR_CHECK)["evalue"] != done["evalue"]  # before: all of it


def test_after_hidden_inputs_a_checks_hint_without_returned_values_is_shown_whole(student):
    define(student, "def linear_forward(x, W, b):\n    return x @ W\n")
    done = run(student, LINEAR_CHECK, after_hidden=True)
    assert done["evalue"] == ("output of linear_forward with x (4, 3), W (3, 2), b (2,): "
                              "the bias b is missing (expected x @ W + b)")


@pytest.mark.parametrize("returned", [
    "555.555",  # numpy's ACTUAL: 555.555
    f"""'a\\'b" LEAK {SPELT} END'""",  # quotes of both kinds around the spelt input
    "'z' * 1815",  # its length, in numpy's dtype <U1815
])
def test_after_hidden_inputs_any_other_message_is_withheld(student, returned):
    define(student, f"def mean(x):\n    return {returned}\n")
    source = "np.testing.assert_allclose(mean([1.0, 2.0]), 1.5, strict=True)\n"
    before = run(student, source)["evalue"]
    assert any(leak in before for leak in ("LEAK", "555", "1815")), before  # numpy writes it
    done = run(student, source, after_hidden=True)
    assert done["ename"] == "AssertionError"
    assert done["evalue"] == f"(its message is not shown: {harness.AFTER_HIDDEN_REASON})"


def test_after_hidden_inputs_a_message_written_in_the_test_is_shown(student):
    define(student, "def mean(x):\n    return 0.0\n")
    source = 'assert mean([4.0]) == 4.0, "the mean of one number is that number (got 0)"\n'
    done = run(student, source, after_hidden=True)
    assert done["evalue"] == "the mean of one number is that number (got 0)"
    computed = 'got = mean([4.0])\nassert got == 4.0, f"the mean of 4.0 is 4.0, not {got}"\n'
    assert run(student, computed, after_hidden=True)["evalue"] == \
        f"(its message is not shown: {harness.AFTER_HIDDEN_REASON})"


def test_on_a_hidden_line_a_check_shows_neither_numbers_nor_returned_values(student):
    define(student, "def linear_forward(x, W, b):\n    return x @ W\n")
    source = LINEAR_CHECK.replace("checks.check", "### BEGIN HIDDEN TESTS\nchecks.check") \
        + "### END HIDDEN TESTS\n"
    done = run(student, source)
    assert done["evalue"] == (
        "output of linear_forward with x (…, …), W (…, …), b (…,): the bias b is missing "
        "(expected x @ W + b) (numbers, and what your code returned, are shown as …: this "
        "is a hidden test, and the message could reveal its inputs)")
    written = ("### BEGIN HIDDEN TESTS\n"
               'assert linear_forward(np.ones((1, 1)), np.ones((1, 1)), np.ones(1)) == 2.0, '
               '"linear_forward(1, 1, 1) should be 2"\n### END HIDDEN TESTS\n')
    assert run(student, written)["evalue"].startswith("linear_forward(…, …, …) should be …")


def test_the_graders_reason_for_a_missing_name_is_its_own_words(student):
    why = {"mean": "a cell after the hidden tests raised ValueError (its message is not "
                   "shown)"}
    done = run(student, "assert mean([2.0]) == 2.0\n", after_hidden=True, why_missing=why)
    assert done["ename"] == "NotDefined"
    assert done["evalue"] == f"name 'mean' is not defined: {why['mean']}"
    hidden = run(student, "### BEGIN HIDDEN TESTS\nassert mean([2.0]) == 2.0\n"
                          "### END HIDDEN TESTS\n", why_missing={"mean": "cell 7 raised"})
    assert hidden["evalue"].startswith("name … is not defined: cell … raised (numbers")
