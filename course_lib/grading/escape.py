"""Make text from submissions safe to show: in a terminal, a spreadsheet, an HTML page.

Student ids, file names, error messages and *problems found* are written by students.
Before any of it is printed or written:

* :func:`for_terminal` replaces every character of Unicode category Cc, Cf, Cs, Co, Cn,
  Zl or Zp (controls such as ESC, BEL, CR, backspace and the C1 range; format
  characters such as bidi overrides and zero-width ones; lone surrogates, which is how
  Python keeps undecodable file name bytes; private-use and unassigned code points;
  line and paragraph separators), newline and tab included, by a visible escape:
  ``\\x1b``, ``\\u202e``, ``\\udcff``, ``\\U000e0001``. The instructor sees that
  something was there, and the result always encodes to UTF-8. It is meant for
  reading, not for decoding back (a backslash is left as it is).
* :func:`for_csv` makes one spreadsheet cell. ``None`` is an empty cell; a number is
  written in one format, fixed point without trailing zeros and at most 6 decimals
  (``12``, ``12.5``, ``0.333333``, never ``1e-07`` nor ``12.0``); any other value is
  made safe with :func:`for_terminal` and, if it then starts with ``=``, ``+``, ``-``
  or ``@`` (after leading spaces, if any), is prefixed with ``'`` so that no
  spreadsheet reads it as a formula (OWASP's advice on CSV injection; the tab and CR
  of that advice never survive :func:`for_terminal`). Quotes and commas are left to
  the csv module.
* :func:`for_html` is :func:`html.escape` after :func:`for_terminal`, except that
  newline and tab, harmless in HTML, are kept.
"""

import html
import numbers
import unicodedata

UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
FORMULA_START = ("=", "+", "-", "@")


def is_unsafe(char):
    """True for a character :func:`for_terminal` escapes (newline and tab included)."""
    return unicodedata.category(char) in UNSAFE_CATEGORIES


def _escape(char):
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _escape_unsafe(text, keep=""):
    return "".join(_escape(c) if is_unsafe(c) and c not in keep else c for c in str(text))


def for_terminal(text):
    """``str(text)`` with every unsafe character shown as an escape (see the module doc)."""
    return _escape_unsafe(text)


def for_csv(value):
    """One CSV cell: numbers formatted, text escaped and never a formula."""
    if value is None:
        return ""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        if isinstance(value, numbers.Integral):
            return str(int(value))
        text = f"{float(value):.6f}".rstrip("0").rstrip(".")
        return "0" if text == "-0" else text
    text = for_terminal(value)
    return "'" + text if text.lstrip(" ").startswith(FORMULA_START) else text


def for_html(text):
    """``str(text)`` escaped for HTML, unsafe characters but newline and tab escaped first."""
    return html.escape(_escape_unsafe(text, keep="\n\t"))
