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


def run(namespace, source, after_hidden=False, label="test_x"):
    names = harness.student_names(source, IMPORTS)
    message = {"op": "run", "label": label, "source": source, "imports": IMPORTS,
               "names": agent.describe(names), "why_missing": {},
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


def test_an_error_raised_in_a_hidden_test_keeps_function_and_type_not_message(student):
    define(student, KEEPS_AND_RAISES)
    done = run(student, HIDDEN)
    assert done["passed"] is False and done["hidden_called"] is True
    assert done["ename"] == "ValueError"
    assert done["evalue"].startswith("raised by your square: (its message is not shown: "
                                     "this is a hidden test")
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
    assert done["ename"] == "ValueError" and "LEAK" not in done["evalue"]
    assert "7.25" not in done["evalue"]
    assert done["evalue"].startswith("raised by your mean: (its message is not shown: "
                                     "hidden tests ran before this one")
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
    assert done["evalue"].startswith("raised by your square: (its message is not shown: "
                                     "this is a hidden test")


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


def test_an_empty_message_is_not_withheld(student):
    define(student, "def square(x):\n    raise KeyError()\n")
    done = run(student, VISIBLE, after_hidden=True)
    assert done["ename"] == "KeyError" and done["evalue"] == "raised by your square"


def test_a_subclass_container_still_carries_nothing_but_plain_data(student):
    define(student, "import collections\nclass Leak:\n    pass\n"
                    "def square(x):\n    return collections.OrderedDict(a=Leak())\n")
    done = run(student, VISIBLE)
    assert done["ename"] == "StudentDataError" and "a Leak object" in done["evalue"]
