"""Import this before nbformat or nbgrader: it skips one slow, unused optional import.

jsonschema (which nbformat uses to validate notebooks) imports ``rfc3987_syntax`` when it
is installed, only to check the "iri" string format, which no notebook schema uses.
That import builds a Lark grammar and takes about 2 s here, paid by ``course`` and by
every grading process (:mod:`course_lib.grading.serve`). Marking the module as absent
makes jsonschema skip that one format check, exactly as if the package were not there.
"""

import sys

if "jsonschema" not in sys.modules:
    sys.modules.setdefault("rfc3987_syntax", None)
