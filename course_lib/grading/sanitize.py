"""Graded notebooks that instructors' views can show without running anything a student wrote.

nbgrader's formgrader renders ``autograded/<student>/<assignment>/<nb>.ipynb`` with
nbconvert's HTML exporter, unsanitised, in the Jupyter server's origin: a ``<script>`` in a
markdown answer, a ``javascript:`` link or a ``text/html`` output would run as the logged-in
instructor and could drive the Jupyter REST API. :func:`sanitize_notebook` returns a copy of
a graded notebook that carries only content that is safe to render that way:

* markdown cells hold HTML: the student's markdown rendered by nbconvert's own renderer,
  then cleaned with an allowlist by nh3 (the binding of the Rust sanitizer ammonia, which
  parses like a browser): text, formatting, tables, code, images and math (``$...$`` text
  for MathJax) stay; scripts, event handlers, styles, frames, forms, ids and every URL
  but http(s), mailto and base64 png/jpeg/gif images go. It is stored as one CommonMark
  HTML block (no blank line), which the formgrader's second rendering passes through as is;
* code outputs keep text/plain, png/jpeg whose base64 decodes to such an image, cleaned
  text/html (text/markdown becomes cleaned text/html); everything else is dropped, with a
  text/plain note if nothing readable remains; image metadata is numeric width/height only;
  streams and errors stay text (nbconvert escapes them), capped in length;
* raw cells become escaped text, attachments keep validated png/jpeg/gif only, cell ids
  match nbformat's pattern and are unique, execution counts are integers, every string is
  valid UTF-8 (no lone surrogates);
* cell metadata is nbgrader's alone, type-checked, with a plain grade_id (one known in the
  release, when it is given); notebook metadata is the release's, or else the plain string
  fields of kernelspec and language_info.

Code cell sources are kept as written: nbconvert highlights them, escaping as it goes.
The input notebook is never modified.
"""

import base64
import binascii
import copy
import html
import math
import os
import re
from pathlib import Path

import nbformat
import nh3
from nbconvert.filters.markdown_mistune import (
    InvalidNotebook,
    IPythonRenderer,
    MarkdownWithMath,
)
from nbformat.v4 import new_notebook
from nbformat.v4.nbbase import random_cell_id
from pygments.token import STANDARD_TYPES

MAX_TEXT = 100_000  # characters kept of one text (a stream, a traceback line, a source)
MAX_TRACEBACK = 200  # lines kept of one traceback
MAX_HTML_TAGS = 5_000  # more tags than this and HTML is shown as text (nh3 is quadratic in depth)
MAX_IMAGE = 10_000_000  # base64 characters of one image

TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "col", "colgroup", "dd", "del",
    "details", "div", "dl", "dt", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img",
    "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "samp", "small", "span", "strike",
    "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr",
    "tt", "u", "ul", "var", "wbr",
}
CELL_ALIGN = {"align", "colspan", "rowspan"}
ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "table": {"border"},
    "td": CELL_ALIGN,
    "th": CELL_ALIGN,
    "ol": {"start"},
    "col": {"span"},
    "colgroup": {"span"},
}
# Classes that make highlighted code and pandas tables look as usual; nothing else.
CLASSES = {"span": set(STANDARD_TYPES.values()) - {""}, "div": {"highlight"},
           "table": {"dataframe"}}
URL_SCHEMES = {"http", "https", "mailto", "data"}

DATA_IMAGE = re.compile(r"data:image/(png|jpeg|gif);base64,(.*)", re.IGNORECASE | re.DOTALL)
BASE64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")
MAGIC = {"image/png": (b"\x89PNG\r\n\x1a\n",), "image/jpeg": (b"\xff\xd8\xff",),
         "image/gif": (b"GIF87a", b"GIF89a")}
OUTPUT_IMAGES = ("image/png", "image/jpeg")
SIZE = re.compile(r"\d{1,5}%?")
CELL_ID = re.compile(r"[a-zA-Z0-9_-]{1,64}")
GRADE_ID = re.compile(r"[a-zA-Z0-9_-]{1,200}")
CHECKSUM = re.compile(r"[0-9a-f]{32}")


def sanitize_notebook(nb, release=None):
    """A copy of graded notebook ``nb`` that is safe to render unsanitised (see module doc).

    ``release`` is the released notebook: its metadata replaces the student's, and only
    cells whose nbgrader grade_id it knows keep their nbgrader metadata.
    """
    known = None if release is None else {
        c.metadata["nbgrader"]["grade_id"] for c in release.cells
        if isinstance(c.metadata.get("nbgrader"), dict) and "grade_id" in c.metadata["nbgrader"]}
    cells, seen = [], set()
    for cell in nb.cells:
        if not isinstance(cell, dict):
            continue
        clean = _cell(cell, known)
        cell_id = cell.get("id")
        if not (isinstance(cell_id, str) and CELL_ID.fullmatch(cell_id)):
            cell_id = None
        while cell_id is None or cell_id in seen:
            cell_id = random_cell_id()
        seen.add(cell_id)
        clean["id"] = cell_id
        cells.append(clean)
    if release is not None:
        metadata = copy.deepcopy(release.metadata)
    else:
        metadata = {key: {k: _text(v, 200) for k, v in nb.metadata[key].items()
                          if isinstance(k, str) and isinstance(v, str)}
                    for key in ("kernelspec", "language_info")
                    if isinstance(nb.metadata.get(key), dict)}
    return new_notebook(cells=cells, metadata=nbformat.from_dict(metadata))


def make_safe_to_show(graded_dir, release_dir):
    """Replace each graded notebook in ``graded_dir`` by its sanitised version
    (:func:`sanitize_notebook` against the release's notebook of the same name).

    A notebook the sanitiser cannot handle, or one the release does not have, is deleted
    (never shown unsanitised); returns one line for each, saying which and why. Each is
    replaced whole (nbgrader leaves its output read-only, which stops no one but root
    from replacing it), never left half-written.
    """
    errors = []
    for path in sorted(Path(graded_dir).glob("*.ipynb")):
        release = Path(release_dir) / path.name
        try:
            if not release.is_file():
                raise FileNotFoundError(f"the release has no {path.name}")
            safe = sanitize_notebook(nbformat.read(path, as_version=4),
                                     nbformat.read(release, as_version=4))
            partial = path.with_name(f".{path.name}.partial")
            nbformat.write(safe, partial)
            os.replace(partial, path)
        except Exception as e:  # this student's notebook only: it is withheld, not shown
            path.unlink()
            errors.append(f"the graded {path.name} could not be made safe to show, so it is "
                          f"withheld ({type(e).__name__}: {e})"[:500])
    return errors


def clean_html(fragment):
    """``fragment`` cleaned by the allowlist, or as escaped text when it has too many tags."""
    fragment = _text(fragment, 10 * MAX_TEXT)
    if fragment.count("<") > MAX_HTML_TAGS:
        return f"<pre>{html.escape(fragment)}</pre>"
    return nh3.clean(fragment, tags=TAGS, attributes=ATTRIBUTES, allowed_classes=CLASSES,
                     url_schemes=URL_SCHEMES, url_relative="deny",
                     attribute_filter=_attribute_filter)


def markdown_to_html(source, attachments=None):
    """Markdown rendered as the formgrader renders it (with math), then :func:`clean_html`.

    Images ``attachment:name`` become data URLs of ``attachments``; a source that cannot be
    rendered (a missing attachment) or renders to too many tags is shown as text.
    """
    renderer = IPythonRenderer(escape=False, exclude_anchor_links=True,
                               attachments=attachments or {})
    try:
        rendered = MarkdownWithMath(renderer=renderer).render(source)
    except (InvalidNotebook, RecursionError):
        rendered = None
    if rendered is None or rendered.count("<") > MAX_HTML_TAGS:
        return f"<pre>{html.escape(source)}</pre>"
    return clean_html(rendered)


def html_block(fragment):
    """``fragment`` as one CommonMark HTML block, which markdown renderers output verbatim.

    The block starts with ``<div>`` at the start of a line and ends at the first blank
    line, so every newline that would begin a blank line becomes ``&#10;`` (the same
    character to an HTML parser, also inside ``<pre>``).
    """
    # a newline followed by blanks to the end of its line; the lookahead stops at that
    # line's end (``\s*`` across lines made this quadratic in the number of newlines)
    body = re.sub(r"\n(?=[^\S\n]*$)", "&#10;", fragment.strip(), flags=re.MULTILINE)
    return f"<div>\n{body}\n</div>" if body else "<div></div>"


def _attribute_filter(tag, attribute, value):
    """nh3's last word on an attribute that passed the allowlist and the URL scheme check.

    URLs must start with http:, https: or mailto: (ignoring the control characters and
    spaces browsers ignore), or be an image's base64 png/jpeg/gif data URL (then rebuilt
    from its validated parts); width and height must be plain numbers.
    """
    if attribute in ("href", "src"):
        compact = re.sub(r"[\x00-\x20\x7f]", "", value)
        if compact.lower().startswith(("http:", "https:", "mailto:")):
            return value
        match = DATA_IMAGE.fullmatch(compact)
        if tag == "img" and attribute == "src" and match:
            mime = f"image/{match[1].lower()}"
            data = _image(match[2], mime)
            return None if data is None else f"data:{mime};base64,{data}"
        return None
    if attribute in ("width", "height"):
        return value if SIZE.fullmatch(value.strip()) else None
    return value


def _text(value, limit=MAX_TEXT):
    """``value`` as a string: lists joined, lone surrogates replaced, cut at ``limit``.

    ``limit=None`` keeps it whole (code sources).
    """
    if isinstance(value, list):
        value = "".join(v for v in value if isinstance(v, str))
    elif not isinstance(value, str):
        value = "" if value is None else str(value)
    value = value.encode("utf-8", "replace").decode("utf-8")
    if limit is not None and len(value) > limit:
        value = value[:limit] + f"\n[... {len(value) - limit} more characters not shown]"
    return value


def _image(value, mime):
    """The base64 of ``value`` without whitespace when it decodes to a ``mime`` image."""
    value = _text(value, MAX_IMAGE + 1)
    compact = "".join(value.split())
    if len(compact) > MAX_IMAGE or not BASE64.fullmatch(compact):
        return None
    try:
        raw = base64.b64decode(compact, validate=True)
    except binascii.Error:
        return None
    return compact if raw.startswith(MAGIC[mime]) else None


def _number(value):
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value) and value >= 0)


NBGRADER_KEYS = {
    "schema_version": lambda v: _number(v) and isinstance(v, int),
    "grade": lambda v: isinstance(v, bool),
    "solution": lambda v: isinstance(v, bool),
    "locked": lambda v: isinstance(v, bool),
    "task": lambda v: isinstance(v, bool),
    "points": _number,
    "grade_id": lambda v: isinstance(v, str) and GRADE_ID.fullmatch(v) is not None,
    "checksum": lambda v: isinstance(v, str) and CHECKSUM.fullmatch(v) is not None,
    "cell_type": lambda v: v in ("code", "markdown", "raw"),
}


def _metadata(cell, known):
    """Cell metadata reduced to a type-checked ``nbgrader`` dict with a valid grade_id."""
    meta = cell.get("metadata")
    meta = meta.get("nbgrader") if isinstance(meta, dict) else None
    if not isinstance(meta, dict):
        return {}
    clean = {k: v for k, v in meta.items() if k in NBGRADER_KEYS and NBGRADER_KEYS[k](v)}
    if "grade_id" not in clean or (known is not None and clean["grade_id"] not in known):
        return {}
    for key, default in (("schema_version", 3), ("grade", False), ("solution", False),
                         ("locked", False)):
        clean.setdefault(key, default)
    return {"nbgrader": clean}


def _attachments(value):
    """Attachments with their png/jpeg/gif images that decode as such, nothing else."""
    clean = {}
    for name, bundle in (value.items() if isinstance(value, dict) else ()):
        if isinstance(bundle, dict):
            images = {mime: data for mime in MAGIC
                      if (data := _image(bundle.get(mime), mime)) is not None}
            if images:
                clean[_text(name, 200)] = images
    return clean


def _cell(cell, known):
    """The sanitised copy of one cell (any type but code and markdown becomes raw text)."""
    metadata = _metadata(cell, known)
    if cell.get("cell_type") == "code":
        outputs = cell.get("outputs") if isinstance(cell.get("outputs"), list) else []
        outputs = [o for o in map(_output, outputs) if o is not None]
        return _node(cell_type="code", source=_text(cell.get("source"), None),
                     metadata=metadata, execution_count=_count(cell), outputs=outputs)
    if cell.get("cell_type") == "markdown":
        attachments = _attachments(cell.get("attachments"))
        source = markdown_to_html(_text(cell.get("source")), attachments)
        clean = _node(cell_type="markdown", source=html_block(source), metadata=metadata)
        if attachments:
            clean["attachments"] = attachments
        return clean
    return _node(cell_type="raw", metadata={},
                 source=f"<pre>{html.escape(_text(cell.get('source')))}</pre>")


def _output(output):
    """The sanitised copy of one output, or None for an output type nbformat does not know."""
    kind = output.get("output_type") if isinstance(output, dict) else None
    if kind == "stream":
        name = output.get("name") if output.get("name") in ("stdout", "stderr") else "stdout"
        return _node(output_type="stream", name=name, text=_text(output.get("text")))
    if kind == "error":
        traceback = output.get("traceback")
        lines = traceback[:MAX_TRACEBACK] if isinstance(traceback, list) else []
        return _node(output_type="error", ename=_text(output.get("ename"), 1000),
                     evalue=_text(output.get("evalue")),
                     traceback=[_text(line) for line in lines])
    if kind not in ("display_data", "execute_result"):
        return None
    data = output.get("data") if isinstance(output.get("data"), dict) else {}
    clean = {}
    if isinstance(data.get("text/plain"), str | list):
        clean["text/plain"] = _text(data["text/plain"])
    for mime in OUTPUT_IMAGES:
        if (image := _image(data.get(mime), mime)) is not None:
            clean[mime] = image
    shown = set()
    if isinstance(data.get("text/html"), str | list):
        clean["text/html"] = clean_html(_text(data["text/html"]))
    elif isinstance(data.get("text/markdown"), str | list):
        clean["text/html"] = markdown_to_html(_text(data["text/markdown"]))
        shown.add("text/markdown")
    if not clean.get("text/plain"):
        dropped = sorted(set(map(str, data)) - set(clean) - shown)
        if dropped or not clean:
            clean["text/plain"] = f"[output not shown: {', '.join(dropped) or 'empty'}]"
    metadata = output.get("metadata") if isinstance(output.get("metadata"), dict) else {}
    sizes = {mime: {key: value for key, value in metadata[mime].items()
                    if key in ("width", "height") and _number(value)}
             for mime in OUTPUT_IMAGES if mime in clean and isinstance(metadata.get(mime), dict)}
    sizes = {mime: size for mime, size in sizes.items() if size}
    if kind == "display_data":
        return _node(output_type="display_data", data=clean, metadata=sizes)
    return _node(output_type="execute_result", data=clean, metadata=sizes,
                 execution_count=_count(output))


def _node(**fields):
    """A cell or output of exactly ``fields``: nbformat's ``new_*`` constructors would
    validate each one against the schema, where the notebook is validated once, whole,
    by :func:`sanitize_notebook` (``new_notebook``)."""
    return nbformat.from_dict(fields)


def _count(node):
    """The execution count of a cell or output if it is a count (an integer >= 0), else None."""
    count = node.get("execution_count")
    return count if _number(count) and isinstance(count, int) else None
