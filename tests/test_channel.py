"""The plain-data channel between the student's kernel and the trusted test process.

Round trips keep every plain value exactly; anything else is refused with a message that
names it; malformed or hostile messages raise ChannelError and never run code.
"""

import base64
import json
import pickle

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from course_lib.gradcheck import check_gradients
from course_lib.grading import channel
from course_lib.grading.harness import student_names

DTYPES = st.sampled_from(["?", "i1", "u2", "i4", "i8", "f2", "f4", "f8", "c16"])
ARRAYS = hnp.arrays(DTYPES, hnp.array_shapes(min_dims=0, max_dims=3, max_side=4))
SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text() | \
    st.complex_numbers()
KEYS = st.none() | st.booleans() | st.integers() | st.text(max_size=5)
PLAIN = st.recursive(
    SCALARS | ARRAYS,
    lambda inner: st.lists(inner, max_size=4) | st.lists(inner, max_size=4).map(tuple)
    | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=12)


def same(a, b):
    """Equal values of the same types, NaN equal to NaN, arrays with the same dtype."""
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b, equal_nan=True)
    if isinstance(a, float | complex):
        return a == b or (a != a and b != b) or (np.isnan(a) and np.isnan(b))
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    return a == b


@given(PLAIN)
def test_plain_data_round_trips_exactly(value):
    assert same(channel.decode(channel.encode(value)), value)


def test_numpy_scalars_keep_their_type():
    for value in (np.float64(2.5), np.int32(-3), np.bool_(True), np.float32(np.inf)):
        back = channel.decode(channel.encode(value))
        assert type(back) is type(value) and (back == value)


def test_a_gradcheck_report_crosses_as_its_fields():
    x = np.random.default_rng(0).standard_normal((2, 3))
    report = check_gradients(lambda: float(np.sum(x ** 2)), {"x": x}, {"x": 3 * x})
    back = channel.decode(channel.encode(report))
    assert back == report and not back.ok and back["x"].worst_index == report["x"].worst_index


class Student:
    def __array__(self, dtype=None, copy=None):
        return np.zeros(3)


@pytest.mark.parametrize("value, named", [
    (Student(), "Student object"),
    ([1, {"a": Student()}], "Student object"),
    (np.array(["a"]), "dtype <U1"),
    (np.array([object()]), "dtype object"),
    ({(1, 2): 3}, "dict key that is a tuple"),
    (lambda x: x, "function"),
    (np.zeros(1_000_000), "MiB"),
])
def test_anything_else_is_refused_by_name(value, named):
    with pytest.raises(channel.Unsendable, match=named):
        channel.encode(value)


def test_subclasses_of_plain_types_do_not_cross():
    class Sneaky(float):
        def __eq__(self, other):
            return True

    with pytest.raises(channel.Unsendable, match="Sneaky"):
        channel.encode(Sneaky(1.0))


def test_deep_nesting_is_refused_both_ways():
    deep = []
    for _ in range(100):
        deep = [deep]
    with pytest.raises(channel.Unsendable, match="nested"):
        channel.encode(deep)
    with pytest.raises(channel.ChannelError):
        channel.decode("[" * 100_000 + "]" * 100_000)


def array(dtype="<f8", shape=(2,), data=b"\0" * 16):
    return {"$": "array", "dtype": dtype, "shape": shape, "data": base64.b64encode(data).decode()}


@pytest.mark.parametrize("plain", [
    array(dtype="|O"), array(dtype="<U3"), array(dtype="V8"), array(dtype="bogus"),
    array(shape=(3,)), array(shape=[-1]), array(shape="2"), {**array(), "data": "***"},
    {"$": "pickle", "v": base64.b64encode(pickle.dumps(print)).decode()},
    {"$": "callback", "id": 0}, {"$": "tuple", "v": 3}, {"$": "dict", "v": [[[1], 2]]},
    {"$": "float", "v": "__import__('os')"}, {"not": "tagged"},
    {"$": "GradcheckReport", "method": "full", "checks": [{"name": 1}]},
])
def test_malformed_messages_raise_channel_error(plain):
    with pytest.raises(channel.ChannelError):
        channel.decode(json.dumps(plain))


def test_non_json_and_oversized_text_are_refused():
    for text in ("{'a': 1}", "\ud800", b"[]", "x" * (channel.MAX_MESSAGE_CHARS + 1)):
        with pytest.raises(channel.ChannelError):
            channel.decode(text)


def test_callbacks_cross_as_stubs_only_where_expected():
    def grader_function(x):
        return x + 1

    callbacks = []
    text = channel.encode({"f": grader_function, "xs": [grader_function]}, callbacks)
    assert callbacks == [grader_function, grader_function]
    stubs = channel.decode(text, make_callback=lambda i: ("stub", i))
    assert stubs == {"f": ("stub", 0), "xs": [("stub", 1)]}


def test_test_cells_take_only_free_names_from_the_notebook():
    source = ('"""doc"""\nfrom course_lib import ps4_checks as checks\n'
              "X = np.ones(3)\nchecks.check(linear_forward, X, spiral_params)\n"
              "f = lambda P: two_layer_mlp(P).predict(P)\nlen(X)\n")
    imports = [("np", "numpy", "")]
    assert student_names(source, imports) == ["linear_forward", "spiral_params",
                                              "two_layer_mlp"]


def test_a_test_binds_only_the_names_it_reads_from_the_notebook():
    from course_lib.grading import harness

    described = {"square": {"kind": "function"}, "abs": {"kind": "function"},
                 "np": {"kind": "value", "value": 1}, "extra": {"kind": "value", "value": 2}}
    message = {"source": "import numpy as np\nassert abs(square(3) - 9) < 1e-12",
               "imports": [], "label": "t", "why_missing": {},
               "names": json.dumps({"names": described})}
    namespace = harness._namespace(message, link=None)
    assert isinstance(namespace["square"], harness.StudentFunction)
    assert not {"abs", "np", "extra"} & set(namespace)


def test_containers_correct_code_returns_cross_as_the_plain_ones():
    """namedtuple, OrderedDict, defaultdict: a plain tuple/dict of the same items arrives."""
    import collections

    grads = collections.namedtuple("Grads", "dx dW db")(np.ones(2), np.zeros((2, 1)), 3.0)
    back = channel.decode(channel.encode(grads))
    assert type(back) is tuple and len(back) == 3
    assert same(back, (np.ones(2), np.zeros((2, 1)), 3.0))

    ordered = collections.OrderedDict([("W1", np.arange(3.0)), ("b1", np.zeros(3))])
    ordered.move_to_end("W1")
    back = channel.decode(channel.encode(ordered))
    assert type(back) is dict and list(back) == ["b1", "W1"]
    assert same(back, {"b1": np.zeros(3), "W1": np.arange(3.0)})

    default = collections.defaultdict(float, {"W2": np.eye(2)})
    back = channel.decode(channel.encode([default]))
    assert type(back) is list and type(back[0]) is dict and same(back[0], {"W2": np.eye(2)})

    class Row(list):
        pass

    back = channel.decode(channel.encode(Row([1, 2.5])))
    assert type(back) is list and back == [1, 2.5]


def test_extended_precision_arrives_as_double():
    x = np.array([0.1, -2.0, np.inf], dtype=np.longdouble)
    back = channel.decode(channel.encode({"s": x, "scalar": np.longdouble(0.5)}))
    assert back["s"].dtype == np.float64
    np.testing.assert_array_equal(back["s"], np.array([0.1, -2.0, np.inf]))
    assert type(back["scalar"]) is np.float64 and back["scalar"] == 0.5
    z = np.array([1 + 2j], dtype=np.clongdouble)
    back = channel.decode(channel.encode(z))
    assert back.dtype == np.complex128 and back[0] == 1 + 2j


def test_converting_containers_lets_nothing_else_across():
    """Only the containers are unwrapped: what they hold is checked as before, and the
    receiver still refuses an extended-precision array or any non-plain tag."""
    import collections

    Pair = collections.namedtuple("Pair", "a b")
    with pytest.raises(channel.Unsendable, match="Student object"):
        channel.encode(Pair(1, Student()))
    with pytest.raises(channel.Unsendable, match="dict key that is a tuple"):
        channel.encode(collections.OrderedDict({(1, 2): 3}))
    with pytest.raises(channel.ChannelError):
        channel.decode(json.dumps(array(dtype=np.dtype(np.longdouble).str,
                                        data=b"\0" * 2 * np.dtype(np.longdouble).itemsize)))


def test_a_directional_report_crosses():
    """check_gradients' directional reports hold plain bools (JSON refuses numpy's)."""
    rng = np.random.default_rng(0)
    x, W = rng.standard_normal((4, 3)), rng.standard_normal((3, 2))
    dout = rng.standard_normal((4, 2))
    report = check_gradients(lambda: np.sum((x @ W) * dout), {"x": x, "W": W},
                             {"x": dout @ W.T, "W": x.T @ dout}, method="directional")
    assert all(type(c.ok) is bool for c in report.checks)
    back = channel.decode(channel.encode(report))
    assert back == report and back.ok and back.method == "directional"
    forged = type(report)(checks=tuple(
        type(c)(c.name, c.shape, np.float64(c.max_rel_error), c.worst_index, c.analytic,
                c.numeric, np.bool_(True)) for c in report.checks), method="directional",
        tol=report.tol)
    back = channel.decode(channel.encode(forged))
    assert back.method == "directional" and all(type(c.ok) is bool for c in back.checks)
