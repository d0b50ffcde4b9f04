"""The exercise checkers accept a right answer in every form a student may write it, and
reject wrong ones with the message meant for them.

``tests/test_lecture_coverage.py`` runs each notebook's stored answer (one form) through its
checker; here each checker also sees the other forms: a tuple, a list or a 1-D numpy array
of numbers; a whole number as a whole-valued float or a numpy scalar (``np.ceil`` returns a
float); a pair returned as a list. Wrong answers must say what is wrong (a shape, a form, a
value), and never raise.
"""

import numpy as np
import pytest

from course_lib.exercises import check


def tiny_gradients(x, y, w1, w2):
    # p = sigma(w2 tanh(w1 x)), L = binary cross-entropy; dL/dz2 = p - y
    h = np.tanh(w1 * x)
    p = 1 / (1 + np.exp(-w2 * h))
    return (p - y) * w2 * (1 - h**2) * x, (p - y) * h


def collapse(W1, b1, W2, b2):
    return W1 @ W2, b1 @ W2 + b2


NUMBERS = {  # exercise -> a right answer given as a tuple of numbers
    "01.nand": (-1.0, -1.0, 1.5),
    "01.top5_chance": (0.5, 0.995),
    "03.xor_constant": (0.5, float(np.log(2))),
    "07.sawtooth_pieces": (1024, 1024),
}

WHOLE = {  # exercise -> a right answer that is a whole number
    "01.lenet_unshared": 122_304,
    "02.separable_count": 14,
    "05.param_count": 2410,
    "06.backprop_depth": 133,
    "07.staircase_units": 620,
}


def forms(numbers):
    return [tuple(numbers), list(numbers), np.array(numbers),
            np.array(numbers, dtype=np.float64)]


@pytest.mark.parametrize("exercise", sorted(NUMBERS))
def test_a_few_numbers_are_accepted_as_a_tuple_a_list_or_an_array(exercise):
    for answer in forms(NUMBERS[exercise]):
        verdict = check(exercise, answer)
        assert verdict.ok is True, f"{type(answer).__name__}: {verdict}"


@pytest.mark.parametrize("exercise", sorted(NUMBERS))
def test_the_wrong_count_of_numbers_is_named(exercise):
    right = NUMBERS[exercise]
    for answer in (right[:-1], list(right) + [0.0], np.array(right)[:-1], 3.0):
        verdict = check(exercise, answer)
        assert verdict.ok is False
        assert f"give {len(right)} numbers, in the order" in verdict.message, verdict
        assert "got " in verdict.message


@pytest.mark.parametrize("exercise", sorted(WHOLE))
def test_whole_numbers_are_accepted_as_whole_valued_floats(exercise):
    truth = WHOLE[exercise]
    for answer in (truth, float(truth), np.int64(truth), np.float64(truth),
                   np.ceil(truth - 0.5), np.array(float(truth))):
        verdict = check(exercise, answer)
        assert verdict.ok is True, f"{answer!r}: {verdict}"


@pytest.mark.parametrize("exercise", sorted(WHOLE))
def test_a_fraction_is_not_a_whole_number(exercise):
    verdict = check(exercise, WHOLE[exercise] + 0.4)
    assert verdict.ok is False
    assert "should be a whole number" in verdict.message, verdict


@pytest.mark.parametrize("exercise", sorted(WHOLE))
def test_a_bool_or_a_string_is_not_a_number(exercise):
    for answer in (True, str(WHOLE[exercise])):
        verdict = check(exercise, answer)
        assert verdict.ok is False
        assert "should be a number" in verdict.message, verdict


def test_a_parameter_count_off_by_a_fraction_is_rejected():
    assert check("05.param_count", 2410.4).ok is False
    assert check("05.param_count", 2411).message == "your count is too large"


def test_gradients_may_come_back_as_an_array_or_a_list():
    for wrap in (tuple, list, np.array):
        verdict = check("01.tiny_backprop", lambda *args, wrap=wrap: wrap(tiny_gradients(*args)))
        assert verdict.ok is True, f"{wrap.__name__}: {verdict}"
    verdict = check("01.tiny_backprop", lambda *args: np.array(tiny_gradients(*args))[:1])
    assert verdict.ok is False
    assert "give 2 numbers, in the order (dL/dw1, dL/dw2); got an array of shape (1,)" in \
        verdict.message
    verdict = check("01.tiny_backprop", lambda *args: (tiny_gradients(*args)[0],
                                                       -tiny_gradients(*args)[1]))
    assert verdict.ok is False and "dL/dw2 has the wrong sign" in verdict.message


def test_the_sawtooth_needs_a_unit_more_than_its_kinks():
    verdict = check("07.sawtooth_pieces", (1024, 1023))
    assert verdict.ok is False
    assert "lower bound only" in verdict.message and "slope of the first piece" in \
        verdict.message
    assert "1024" not in verdict.message
    assert "too small" in check("07.sawtooth_pieces", (1024, 512)).message
    assert "too large" in check("07.sawtooth_pieces", (1024, 2048)).message
    assert "pieces is too small" in check("07.sawtooth_pieces", (512, 1024)).message
    assert check("07.sawtooth_pieces", (1024.0, np.float64(1024))).ok is True


def test_a_one_entry_shape_written_without_its_comma_gets_a_hint():
    verdict = check("03.shapes", {"W": (5, 3), "b": (3), "y": (7, 3)})
    assert verdict.ok is False
    assert "the shape of b is a number, not a tuple" in verdict.message
    assert "(n,)" in verdict.message
    assert "checking raised" not in verdict.message


def test_shapes_may_be_lists_or_arrays():
    answer = {"W": [5, 3], "b": np.array([3]), "y": (7.0, 3)}
    assert check("03.shapes", answer).ok is True
    verdict = check("03.shapes", {"W": (3, 5), "b": (3,), "y": (7, 3)})
    assert verdict.ok is False and "the shape of W is wrong" in verdict.message


def test_collapse_may_return_a_list():
    assert check("03.collapse", lambda *args: list(collapse(*args))).ok is True
    verdict = check("03.collapse", lambda *args: np.zeros(2))
    assert verdict.ok is False
    assert verdict.message.startswith("return a pair (W_hat, b_hat); got an array")


def test_adding_the_two_biases_is_explained_in_terms_of_shapes():
    verdict = check("03.collapse", lambda W1, b1, W2, b2: (W1 @ W2, b1 + b2))
    assert verdict.ok is False
    assert "checking raised" not in verdict.message
    assert "b1 (6,)" in verdict.message and "b2 (3,)" in verdict.message
    assert "write down the shape of each term" in verdict.message


def test_the_blank_answer_is_not_attempted():
    for exercise in [*NUMBERS, *WHOLE, "03.shapes", "03.collapse", "01.tiny_backprop"]:
        assert repr(check(exercise, ...)).endswith(
            "not attempted yet: replace ... with your answer and run the cell again")
