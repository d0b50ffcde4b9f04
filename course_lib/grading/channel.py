"""Plain data between the student's kernel and the trusted test process, as JSON text.

What crosses (either way): ``None``, ``bool``, ``int``, ``float`` (NaN and inf too),
``complex``, ``str``, numpy arrays and scalars of a numeric or boolean dtype, and
``tuple``/``list``/``dict`` of these (dict keys: str, int, float, bool or None). A few
values correct code returns are sent as the plain value they stand for, and arrive as
that: a subclass of ``tuple``, ``list`` or ``dict`` (a ``namedtuple``, an ``OrderedDict``,
a ``defaultdict``) as a plain ``tuple``, ``list`` or ``dict`` of its items, and numpy's
extended precision (``longdouble``, ``clongdouble``: ``float128``, ``complex256``) as
``float64``/``complex128``. Only the sender converts: the receiver still builds nothing
but builtin containers and fresh arrays of the dtypes above. Two more kinds have a
meaning of their own:

* a *callback*: a function of the test process handed to the student's code. It crosses
  as ``{"$": "callback", "id": k}``; the receiver turns it into a stub that asks the
  sender to run function ``k`` (see :mod:`course_lib.grading.agent`);
* a :class:`course_lib.gradcheck.GradcheckReport` crosses as its fields and is rebuilt
  from them, so a test can read the report a student's gradient check returned.

Nothing else crosses: never pickle, never an object of a student's class. :func:`encode`
raises :class:`Unsendable` naming what it met; :func:`decode` raises
:class:`ChannelError` for anything malformed (unknown tags, an object dtype, a shape that
does not fit its bytes, nesting deeper than ``MAX_DEPTH``, a message over
``MAX_MESSAGE_CHARS``). Decoding builds only builtin containers and fresh numpy arrays,
so a hostile sender can make a value wrong but never make the receiver run its code.

Encoded form: JSON; lists stay lists, other kinds are tagged objects ``{"$": kind, ...}``.
"""

import base64
import json
import math

import numpy as np

MAX_DEPTH = 32
MAX_MESSAGE_CHARS = 3 * 2**20  # JSON text (about 2.2 MiB of array data): under ZMQ_MESSAGE
DTYPES = frozenset("?bBhHiIlLqQefdFD")  # numpy type chars: bool, ints, floats, complex
WIDENED = {"g": np.float64, "G": np.complex128}  # extended precision: sent as double
KEY_TYPES = (str, int, float, bool, type(None))


class ChannelError(ValueError):
    """A message that is not well-formed plain data."""


class Unsendable(TypeError):
    """A value that cannot cross: says what it was."""


def describe(value):
    """``"a Foo object"``, for messages about what was returned."""
    kind = type(value)
    module = kind.__module__
    name = kind.__qualname__
    if module not in ("builtins", "__main__"):
        name = f"{module}.{name}"
    return f"a {name} object"


def _float(value):
    return value if math.isfinite(value) else {"$": "float", "v": repr(value)}


def _array(value):
    value = np.asarray(value)
    if value.dtype.char in WIDENED:
        value = value.astype(WIDENED[value.dtype.char])
    if value.dtype.char not in DTYPES:
        raise Unsendable(f"a numpy array of dtype {value.dtype} (only numbers and booleans "
                         "cross)")
    data = np.ascontiguousarray(value).tobytes()
    return {"$": "array", "dtype": value.dtype.str, "shape": list(value.shape),
            "data": base64.b64encode(data).decode("ascii")}


def _report(report):
    checks = [{"name": c.name, "shape": [int(n) for n in c.shape],
               "max_rel_error": _float(float(c.max_rel_error)),
               "worst_index": None if c.worst_index is None else [int(i) for i in
                                                                  c.worst_index],
               "analytic": _float(float(c.analytic)), "numeric": _float(float(c.numeric)),
               "ok": bool(c.ok)}  # a numpy bool (a comparison's result) is not JSON
              for c in report.checks]
    return {"$": "GradcheckReport", "method": str(report.method),
            "tol": _float(float(report.tol)),
            "checks": checks}


def to_plain(value, callbacks=None, depth=0):
    """The JSON-ready form of ``value``.

    ``callbacks``: a list; a callable is appended to it and crosses as its index. Without
    it (the student's side) a callable is :class:`Unsendable`.
    """
    if depth > MAX_DEPTH:
        raise Unsendable(f"data nested deeper than {MAX_DEPTH} levels")
    kind = type(value)
    if value is None or kind in (bool, str, int):
        return value
    if kind is float:
        return _float(value)
    if kind is complex:
        return {"$": "complex", "v": [_float(value.real), _float(value.imag)]}
    if isinstance(value, np.ndarray):
        return _array(value)
    if isinstance(value, np.generic):
        return {**_array(value), "$": "scalar"}
    from course_lib.gradcheck import GradcheckReport

    if kind is GradcheckReport:
        return _report(value)
    if isinstance(value, list | tuple):  # a namedtuple crosses as the tuple of its fields
        items = [to_plain(v, callbacks, depth + 1) for v in value]
        return items if isinstance(value, list) else {"$": "tuple", "v": items}
    if isinstance(value, dict):  # OrderedDict, defaultdict: the dict of their items
        pairs = []
        for k, v in value.items():
            if type(k) not in KEY_TYPES:
                raise Unsendable(f"a dict key that is {describe(k)}")
            pairs.append([to_plain(k, None, depth + 1), to_plain(v, callbacks, depth + 1)])
        return {"$": "dict", "v": pairs}
    if callbacks is not None and callable(value):
        callbacks.append(value)
        return {"$": "callback", "id": len(callbacks) - 1}
    raise Unsendable(describe(value))


def arrays_in(value, path=(), depth=0):
    """``[(path, array)]`` for the numpy arrays inside lists, tuples and str-keyed dicts.

    A call's arguments are copied across the channel, so an argument the called function
    changes in place is sent back by path (:mod:`course_lib.grading.agent`) and written
    into the caller's array: in-place changes behave as in one process.
    """
    if isinstance(value, np.ndarray):
        return [(path, value)]
    found = []
    if depth < MAX_DEPTH and type(value) in (list, tuple):
        for i, item in enumerate(value):
            found += arrays_in(item, (*path, i), depth + 1)
    elif depth < MAX_DEPTH and type(value) is dict:
        for key, item in value.items():
            if type(key) is str:
                found += arrays_in(item, (*path, key), depth + 1)
    return found


def encode(value, callbacks=None):
    """``value`` as JSON text (see :func:`to_plain`); raises :class:`Unsendable`."""
    text = json.dumps(to_plain(value, callbacks), allow_nan=False, separators=(",", ":"))
    if len(text) > MAX_MESSAGE_CHARS:
        raise Unsendable(f"data of {len(text) / 2**20:.0f} MiB (limit "
                         f"{MAX_MESSAGE_CHARS / 2**20:.0f} MiB)")
    return text


def _need(condition, why):
    if not condition:
        raise ChannelError(why)


def _to_float(plain):
    if type(plain) in (int, float):
        return float(plain)
    _need(type(plain) is dict and plain.get("$") == "float" and plain.get("v") in
          ("nan", "inf", "-inf"), "a malformed float")
    return float(plain["v"])


def _from_array(plain):
    _need(type(plain.get("dtype")) is str and type(plain.get("shape")) is list
          and type(plain.get("data")) is str, "a malformed array")
    try:
        dtype = np.dtype(plain["dtype"])
    except TypeError as e:
        raise ChannelError(f"an array of unknown dtype {plain['dtype']!r}") from e
    _need(dtype.char in DTYPES and dtype.str == plain["dtype"],
          f"an array of dtype {plain['dtype']!r}")
    shape = plain["shape"]
    _need(len(shape) <= MAX_DEPTH and all(type(n) is int and n >= 0 for n in shape),
          "an array with a malformed shape")
    try:
        data = base64.b64decode(plain["data"], validate=True)
    except ValueError as e:
        raise ChannelError("an array whose data is not base64") from e
    _need(len(data) == math.prod(shape) * dtype.itemsize,
          f"an array of shape {tuple(shape)} with {len(data)} bytes of data")
    return np.frombuffer(data, dtype=dtype).reshape(shape).copy()


def _from_report(plain):
    from course_lib.gradcheck import GradcheckReport, ParamCheck

    _need(type(plain.get("method")) is str and type(plain.get("checks")) is list,
          "a malformed GradcheckReport")
    checks = []
    for c in plain["checks"]:
        _need(type(c) is dict and type(c.get("name")) is str and type(c.get("ok")) is bool
              and type(c.get("shape")) is list, "a malformed GradcheckReport entry")
        worst = c.get("worst_index")
        _need(worst is None or (type(worst) is list and all(type(i) is int for i in worst)),
              "a malformed worst_index")
        checks.append(ParamCheck(
            name=c["name"], shape=tuple(int(n) for n in c["shape"]),
            max_rel_error=_to_float(c.get("max_rel_error")),
            worst_index=None if worst is None else tuple(worst),
            analytic=_to_float(c.get("analytic")), numeric=_to_float(c.get("numeric")),
            ok=c["ok"]))
    return GradcheckReport(checks=tuple(checks), method=plain["method"],
                           tol=_to_float(plain.get("tol")))


def from_plain(plain, make_callback=None, depth=0):
    """Rebuild a value from :func:`to_plain`'s form; ``make_callback(id)`` builds stubs."""
    _need(depth <= MAX_DEPTH + 1, f"data nested deeper than {MAX_DEPTH} levels")
    kind = type(plain)
    if plain is None or kind in (bool, str, int, float):
        return plain
    if kind is list:
        return [from_plain(v, make_callback, depth + 1) for v in plain]
    _need(kind is dict and type(plain.get("$")) is str, f"an untagged {kind.__name__}")
    tag = plain["$"]
    if tag == "float":
        return _to_float(plain)
    if tag == "complex":
        v = plain.get("v")
        _need(type(v) is list and len(v) == 2, "a malformed complex number")
        return complex(_to_float(v[0]), _to_float(v[1]))
    if tag in ("array", "scalar"):
        array = _from_array(plain)
        if tag == "scalar":
            _need(array.shape == (), "a scalar with a shape")
            return array[()]
        return array
    if tag == "tuple":
        _need(type(plain.get("v")) is list, "a malformed tuple")
        return tuple(from_plain(v, make_callback, depth + 1) for v in plain["v"])
    if tag == "dict":
        _need(type(plain.get("v")) is list, "a malformed dict")
        result = {}
        for pair in plain["v"]:
            _need(type(pair) is list and len(pair) == 2, "a malformed dict entry")
            key = from_plain(pair[0], None, depth + 1)
            _need(type(key) in KEY_TYPES, "a dict key that is not a plain value")
            result[key] = from_plain(pair[1], make_callback, depth + 1)
        return result
    if tag == "GradcheckReport":
        return _from_report(plain)
    if tag == "callback":
        _need(make_callback is not None and type(plain.get("id")) is int,
              "a callback where none is expected")
        return make_callback(plain["id"])
    raise ChannelError(f"an unknown kind {tag[:40]!r}")


def decode(text, make_callback=None):
    """The value encoded in ``text`` (JSON); raises :class:`ChannelError` if malformed."""
    if type(text) is not str or len(text) > MAX_MESSAGE_CHARS:
        raise ChannelError("a message that is not text of at most "
                           f"{MAX_MESSAGE_CHARS / 2**20:.0f} MiB")
    try:
        plain = json.loads(text)
    except (ValueError, RecursionError) as e:
        raise ChannelError(f"a message that is not JSON ({type(e).__name__})") from e
    try:
        return from_plain(plain, make_callback)
    except RecursionError as e:
        raise ChannelError("data nested too deeply") from e
