"""Hostile student content: markdown, outputs, raw cells and metadata that try to run JavaScript.

Every payload runs ``js(name)``: a JavaScript expression with no whitespace, double quote or
angle bracket (``alert('name')`` in the unit tests, a call to the Jupyter REST API in the
browser test), so that a test can tell which payload ran. ``hostile_notebook`` puts them all
into one submission of the tiny assignment (tests/grading_fixtures.py) extended by
``source_notebook`` with a hand-graded written answer.
"""

import base64
import json

import grading_fixtures as fx
import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_output, new_raw_cell

# A 1x1 PNG and the start of a JPEG: real images, which the sanitiser must keep.
PNG = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJ"
       "RU5ErkJggg==")
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
ANSWER_ID = "written_answer"
ANSWER_TEXT = "Gradient descent follows the negative gradient"


def source_notebook():
    """The tiny assignment plus a written answer worth 2 points, graded by hand."""
    nb = fx.source_notebook()
    meta = {"nbgrader": {"grade_id": ANSWER_ID, "grade": True, "solution": True,
                         "locked": False, "points": 2, "schema_version": 3}}
    nb.cells += [new_markdown_cell("## Part 3: in words (2 points)\n\nWhy does it work?"),
                 new_markdown_cell("YOUR ANSWER HERE", metadata=meta)]
    return nb


class Named:
    """``j["name"]`` is ``js("name")``: the call a payload makes, named after the payload."""

    def __init__(self, js):
        self.js = js

    def __getitem__(self, name):
        return self.js(name)


def markdown_payloads(js):
    """``{name: markdown source}``, each a way for raw markdown to run ``js(name)``."""
    j = Named(js)
    data_page = base64.b64encode(f"<script>{j['data_link']}</script>".encode()).decode()
    return {
        "script": f"<script>{j['script']}</script>",
        "img_onerror": f'<img src=x onerror="{j["img_onerror"]}">',
        "inline_img": f'Inline <img src=x onerror="{j["inline_img"]}"> html.',
        "svg_onload": f'<svg onload="{j["svg_onload"]}"><circle r="5"/></svg>',
        "entity_href": f'<a href="jav&#x61;script:{j["entity_href"]}">click</a>',
        "spaced_href": f'<a href=" java&#9;script:{j["spaced_href"]}">click</a>',
        "md_link": f"[click](javascript:{j['md_link']})",
        "md_link_case": f"[click](JaVaScRiPt:{j['md_link_case']})",
        "md_link_angle": f"[click](<javascript:{j['md_link_angle']}>)",
        "md_image": f"![pic](javascript:{j['md_image']})",
        "md_image_title": f'![pic](x.png "a\\" onerror=\\"{j["md_image_title"]}")',
        "ref_link": f"[click][r]\n\n[r]: javascript:{j['ref_link']}",
        "ref_link_entity": f"[click][e]\n\n[e]: &#x6A;avascript:{j['ref_link_entity']}",
        "autolink": f"<javascript:{j['autolink']}>",
        "vbscript": f"[click](vbscript:{j['vbscript']})",
        "data_link": f"[click](data:text/html;base64,{data_page})",
        "iframe_srcdoc": f'<iframe srcdoc="<script>{j["iframe_srcdoc"]}</script>"></iframe>',
        "object": f'<object data="javascript:{j["object"]}"></object>',
        "embed": f'<embed src="javascript:{j["embed"]}">',
        "form": f'<form action="javascript:{j["form"]}"><button>go</button></form>',
        "style": f"<style>body{{background:url(javascript:{j['style']})}}</style>",
        "meta_refresh": f'<meta http-equiv="refresh" content="0;url=javascript:{j["meta_refresh"]}">',
        "base": f'<base href="javascript:{j["base"]}//">',
        "link": f'<link rel="stylesheet" href="javascript:{j["link"]}">',
        "details_ontoggle": f'<details open ontoggle="{j["details_ontoggle"]}">x</details>',
        "mermaid": f'```mermaid\n<img src=x onerror="{j["mermaid"]}">\n```',
        "html_block_markdown": f"<div>\n\n[click](javascript:{j['html_block_markdown']})\n\n</div>",
        "deep_quote": ">" * 3000 + f' <img src=x onerror="{j["deep_quote"]}">',
        "deep_div": "<div>" * 6000 + f'<img src=x onerror="{j["deep_div"]}">',
        "surrogates": f"lone \ud800 surrogate <script>{j['surrogates']}</script>",
        # last: Python's html.parser (nbconvert re-serialises pages with it) takes everything
        # after an unclosed <style> for style text, so the payloads after it would vanish
        "noscript_mxss": f'<noscript><p title="</noscript><img src=x onerror={j["noscript_mxss"]}>">',
        "math_mxss": f"<math><mtext><table><mglyph><style><img src=x onerror={j['math_mxss']}>",
    }


def output_payloads(js):
    """``{name: output}``: outputs a student's code can display, each trying ``js(name)``."""
    def display(data, metadata=None):
        return new_output("display_data", data=data, metadata=metadata or {})

    return {
        "js_output": display({"application/javascript": js("js_output"),
                                           "text/plain": "<Javascript object>"}),
        "html_output": display({
            "text/html": f'<script>{js("html_output")}</script>'
                         f'<img src=x onerror="{js("html_output")}"><b>html output</b>'}),
        "html_isolated": display({
            "text/html": f"<script>{js('html_isolated')}</script>"},
            {"text/html": {"isolated": True}}),
        "svg_output": display({"image/svg+xml": (
            f'<svg xmlns="http://www.w3.org/2000/svg" onload="{js("svg_output")}">'
            f"<script>{js('svg_output')}</script></svg>")}),
        "markdown_output": display({
            "text/markdown": f'<img src=x onerror="{js("markdown_output")}"> and '
                             f"[x](javascript:{js('markdown_output')})"}),
        "latex_output": display({
            "text/latex": f"$\\href{{javascript:{js('latex_output')}}}{{x}}$"}),
        "png_base64": display({"image/png": f'x" onerror="{js("png_base64")}'}),
        "png_width": display({"image/png": PNG},
                             {"image/png": {"width": f"1 onload={js('png_width')}",
                                            "height": f"1 onload={js('png_width')}"}}),
        "widget_view": display({WIDGET_VIEW: {
            "model_id": f"</script><script>{js('widget_view')}</script>",
            "version_major": 2, "version_minor": 0}}),
        "stream_output": new_output("stream", name="stdout",
                                    text=f"<script>{js('stream_output')}</script>\n"),
    }


def producing_code(outputs, comment):
    """Python source whose run displays ``outputs`` (display_data and stream) again.

    ``comment`` goes into the first line: a hostile code *source*, which nbconvert must
    escape when it highlights the cell.
    """
    specs = [["stream", o.text, None] if o.output_type == "stream"
             else ["display", o.data, o.metadata] for o in outputs]
    return (f"# {comment}\nimport json\nfrom IPython.display import display\n"
            f"for kind, value, meta in json.loads({json.dumps(specs)!r}):\n"
            "    if kind == 'stream':\n        print(value, end='')\n"
            "    else:\n        display(value, raw=True, metadata=meta)")


def code_source_payload(js):
    """A code comment that would run ``js('code_source')`` if nbconvert did not escape it."""
    name = js("code_source")
    return f'</pre></textarea><script>{name}</script><img src=x onerror="{name}">'


def raw_payloads(js):
    """``{name: raw cell}``: raw HTML that nbconvert would copy into the page."""
    return {
        "raw_html": new_raw_cell(f"<script>{js('raw_html')}</script>",
                                 metadata={"format": "text/html", "raw_mimetype": "text/html"}),
        "raw_plain": new_raw_cell(f'<img src=x onerror="{js("raw_plain")}">'),
    }


def hostile_notebook(release, js):
    """A submission of the released tiny assignment: good code, a written answer with
    benign text, math and a payload, then added cells: code displaying every output
    payload (its outputs stored as if the student had run it; ``course autograde`` runs it
    again and gets the same), the raw cells, one markdown cell per payload.
    """
    nb = fx.answer(release, fx.GOOD)
    answer = next(c for c in nb.cells
                  if c.metadata.get("nbgrader", {}).get("grade_id") == ANSWER_ID)
    answer.source = (f"{ANSWER_TEXT}, so **the loss decreases** for a small step "
                     f"$\\eta$: $f(x - \\eta \\nabla f) \\approx f(x) - \\eta |\\nabla f|^2$.\n\n"
                     f'<img src=x onerror="{js("answer_cell")}">')
    outputs = list(output_payloads(js).values())
    nb.cells.append(new_code_cell(producing_code(outputs, code_source_payload(js)),
                                  outputs=outputs, execution_count=1))
    nb.cells += list(raw_payloads(js).values())
    nb.cells += [new_markdown_cell(source) for source in markdown_payloads(js).values()]
    return nbformat.from_dict(nb)


def names():
    """Names of every payload ``hostile_notebook`` holds."""
    return ["answer_cell", "code_source", *markdown_payloads(str), *output_payloads(str),
            *raw_payloads(str)]
