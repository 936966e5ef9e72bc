"""JUnit XML: recognised from the document itself, parsed as a stream within fixed bounds.

Recognition reads the prolog the way an XML parser does (byte-order mark, white space, the
XML declaration, comments, processing instructions, a DOCTYPE) however long it is, and looks
at the root element's name: a file is JUnit when its root is ``testsuites``, ``testsuite`` or
``testcase``. A fixed-size window missed a document whose licence comment was 2,000
characters long.

Parsing drives expat with handlers and builds no tree: memory is the parser's buffer plus one
frame per open element, and elements may nest at most :data:`MAX_DEPTH` deep (a tree of a
deeply nested 14 MB file took 630 MB). Entity declarations are refused, as defusedxml does by
default, so a "billion laughs" document cannot expand; expat 2.4+ would also stop it, but the
refusal does not depend on the expat that Python was built with. A document that breaks a
bound or is not well-formed is one anomaly and none of its outcomes count (like a truncated
file, which may still be being written).
"""

from __future__ import annotations

import re
from xml.parsers import expat

MAX_DEPTH = 256  # JUnit nests suites a few levels deep; nothing real comes near this
CHUNK = 1 << 20  # characters handed to expat at a time: its buffer stays small

_SPACE = re.compile(r"[ \t\r\n]*")
_ROOT = re.compile(r"<(?:[A-Za-z_][\w.\-]*:)?(?:testsuites|testsuite|testcase)(?=[\s/>])")
_FAIL = frozenset(("failure", "error"))


class Refused(Exception):
    """The document breaks a bound or declares entities."""


def is_junit(text: str) -> bool:
    """True when the document's root element is a JUnit one, whatever precedes it."""
    i = _SPACE.match(text, 1 if text.startswith("\ufeff") else 0).end()  # type: ignore[union-attr]
    while True:
        if text.startswith("<?", i):
            end = text.find("?>", i + 2)
            i = end + 2
        elif text.startswith("<!--", i):
            end = text.find("-->", i + 4)
            i = end + 3
        elif text.startswith("<!DOCTYPE", i):
            end = _doctype_end(text, i)
            i = end + 1
        else:
            return _ROOT.match(text, i) is not None
        if end < 0:
            return False
        i = _SPACE.match(text, i).end()  # type: ignore[union-attr]


def _doctype_end(text: str, start: int) -> int:
    """Index of the ``>`` closing a DOCTYPE, past an internal subset in brackets; -1 if none."""
    close = text.find(">", start)
    bracket = text.find("[", start, close if close >= 0 else len(text))
    if bracket < 0:
        return close
    end = text.find("]", bracket)
    return text.find(">", end) if end >= 0 else -1


def parse_junit(text: str) -> list[tuple[str, str]] | None:
    """Each ``<testcase>`` as (name, status word) where status is ``PASS``, ``FAIL``,
    ``SKIP``, or ``""`` for a case without a name; None when the document is refused."""
    out: list[tuple[str, str]] = []
    # per open element: its local name, and for a testcase [name, status] to fill in
    stack: list[tuple[str, list[str] | None]] = []

    def start(tag: str, attrs: dict[str, str]) -> None:
        if len(stack) >= MAX_DEPTH:
            raise Refused(f"elements nested more than {MAX_DEPTH} deep")
        local = tag.rpartition(":")[2]
        if stack and (parent := stack[-1][1]) is not None:
            if local in _FAIL:
                parent[1] = "FAIL"
            elif local == "skipped" and parent[1] == "PASS":
                parent[1] = "SKIP"
        case = None
        if local == "testcase":
            name = attrs.get("name") or ""
            cls = attrs.get("classname")
            case = [f"{cls}.{name}" if cls and name else name, "PASS"]
        stack.append((local, case))

    def end(tag: str) -> None:
        _, case = stack.pop()
        if case is not None:
            out.append((case[0], case[1] if case[0] else ""))

    def refuse_entity(*args: object) -> None:
        raise Refused("entity declarations are not accepted")

    parser = expat.ParserCreate()
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.EntityDeclHandler = refuse_entity
    parser.UnparsedEntityDeclHandler = refuse_entity
    try:
        for i in range(0, len(text), CHUNK):
            parser.Parse(text[i : i + CHUNK], False)
        parser.Parse("", True)
    except (expat.ExpatError, Refused, ValueError, RecursionError):
        return None
    return out
