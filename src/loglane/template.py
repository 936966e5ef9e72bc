"""Line templates (``fmt=``, ``format =``): checked once, when they are given.

A template is a ``str.format`` string over a record's keys. Everything that could make a
line fail later is refused here with a ``ValueError`` naming the problem: bad syntax,
positional fields, attribute or index access (``{name[x]}``, ``{message.x}``), an unknown
conversion, nested fields in a format spec, a format spec that does not suit the key's value,
absurd widths, and stdlib ``%(name)s`` templates. What passes is compiled into the template
``TextFormatter`` runs, in which a key whose value cannot be known in advance (a record's own
fields) is looked up through a marker, so the formatter renders it in a way that cannot fail.
Pure functions, no I/O.
"""

from __future__ import annotations

import re
from string import Formatter

# The keys every record has, each with a value of the type it always has: a format spec or
# conversion for them is checked against it here, once.
RECORD_KEYS: dict[str, object] = {
    "time": "2026-11-22 10:12:54.796",
    "iso": "2026-11-22T10:12:54.796000+01:00",
    "ts": 1795342374.796,
    "name": "app",
    "level": "INFO",
    "levelno": 20,
    "message": "message",
    "fields": " key=value",
}
# Leads a compiled key that the formatter must render safely (see format._Fallback): a record
# field, or `levelno` with a spec (any int can be a level, and `{levelno:c}` fails for some).
SAFE = "\x00"
MAX_WIDTH = 10_000  # a wider column is a typo, and would make every line that long
MAX_PRECISION = 1_000_000  # `{ts:.999999999f}` would build a gigabyte per line

_PARSER = Formatter()
_CONVERSIONS = (None, "r", "s", "a")
# The standard format-spec mini-language: [[fill]align][sign][z][#][0][width][,_][.prec][type]
_SPEC = re.compile(
    r"(?:.?[<>=^])?[-+ ]?z?#?0?(?P<width>\d+)?[,_]?(?:\.(?P<precision>\d+))?[a-zA-Z%]?",
    re.DOTALL,
)
# A stdlib logging field, as logging.PercentStyle recognises one: %(name)s, %(lineno)-4d ...
_STDLIB_FIELD = re.compile(r"%\(\w+\)[#0+ -]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[diouxefgcrsa%]", re.I)


def compile_template(fmt: object) -> str:
    """Check a line template; return the ``str.format`` text ``TextFormatter`` runs.

    Raises ``ValueError("invalid fmt '...': <the problem>")`` for anything that could fail
    when a line is formatted. A plain ``{key}`` that is no record key stays a field of the
    record (``-`` when a record lacks it).
    """
    if not isinstance(fmt, str):
        raise ValueError(f"fmt must be a template string, got {type(fmt).__name__}")
    source = from_stdlib(fmt)
    try:
        parts = list(_PARSER.parse(source))
    except ValueError as exc:
        raise ValueError(f"invalid fmt {fmt!r}: {exc}") from None
    out: list[str] = []
    for literal, key, spec, conversion in parts:
        out.append(literal.replace("{", "{{").replace("}", "}}"))
        if key is None:
            continue
        problem = _field_problem(key, spec or "", conversion)
        if problem:
            raise ValueError(f"invalid fmt {fmt!r}: {problem}")
        out.append(_compiled_field(key, spec or "", conversion))
    return "".join(out)


def from_stdlib(fmt: str) -> str:
    """The one place a stdlib ``%(name)s`` template is recognised (and, later, translated).

    A template without one is returned as it is. For now stdlib templates are refused with
    a message saying what to write instead; one mixing both styles will stay an error.
    """
    found = _STDLIB_FIELD.findall(fmt)
    if not found:
        return fmt
    if any(key is not None for _, key, _, _ in _parse_quietly(fmt)):
        raise ValueError(
            f"invalid fmt {fmt!r}: mixes stdlib %(name)s fields ({found[0]}) "
            "with {name} fields; use {name} fields only"
        )
    raise ValueError(
        f"invalid fmt {fmt!r}: stdlib %(name)s templates are not supported yet; "
        "write {name} fields, e.g. '{time} {name} {level} {message}{fields}'"
    )


def _parse_quietly(fmt: str) -> list[tuple[str, str | None, str | None, str | None]]:
    try:
        return list(_PARSER.parse(fmt))
    except ValueError:
        return []


def _field_problem(key: str, spec: str, conversion: str | None) -> str | None:
    """What is wrong with one ``{key!conversion:spec}`` field, or None."""
    field = _field(key, spec, conversion)
    if key == "" or key.isdecimal():
        return f"positional field {field}: name a key, e.g. {{message}}"
    if "." in key or "[" in key:
        return f"{field}: attribute and index access are not supported; name a key"
    if conversion not in _CONVERSIONS:
        return f"{field}: unknown conversion (use !r, !s or !a)"
    if "{" in spec or "}" in spec:
        return f"{field}: nested fields in a format spec are not supported"
    match = _SPEC.fullmatch(spec)
    if match:
        if int(match["width"] or 0) > MAX_WIDTH:
            return f"{field}: width over {MAX_WIDTH}"
        if int(match["precision"] or 0) > MAX_PRECISION:
            return f"{field}: precision over {MAX_PRECISION}"
    if conversion is not None:
        sample: object = "text"  # a conversion always gives a str, whatever the key
    elif key in RECORD_KEYS:
        sample = RECORD_KEYS[key]
    else:
        return None  # a record's field: its type is only known per record (see _compiled_field)
    try:
        format(sample, spec)
    except (ValueError, TypeError) as exc:
        return f"{field}: {exc}"
    return None


def _compiled_field(key: str, spec: str, conversion: str | None) -> str:
    if key not in RECORD_KEYS or (key == "levelno" and spec and conversion is None):
        key = SAFE + key
    return _field(key, spec, conversion)


def _field(key: str, spec: str, conversion: str | None) -> str:
    """``{key!conversion:spec}``, as written."""
    conv = "" if conversion is None else "!" + conversion
    return "{" + key + conv + (":" + spec if spec else "") + "}"


__all__ = ["MAX_PRECISION", "MAX_WIDTH", "RECORD_KEYS", "SAFE", "compile_template", "from_stdlib"]
