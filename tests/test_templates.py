"""Line templates are checked when given: a bad one is a ValueError at construction, and one
that passes formats every record without a ``<loglane: ... failed>`` line."""

from __future__ import annotations

import datetime
import re
import string
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import loglane
from loglane.format import TextFormatter, iso_time, render_fields, render_message
from loglane.record import Record, level_name
from loglane.template import MAX_PRECISION, MAX_WIDTH, RECORD_KEYS, compile_template

TS = 1_795_342_374_796_000_000  # 2026-11-22 10:12:54.796 (UTC)
FAILED = re.compile(r"<loglane: [^>]*failed")


def record(
    fields: dict[str, Any] | None = None,
    level: int = 20,
    msg: str = "hello %s",
    args: tuple[Any, ...] = ("ann",),
) -> Record:
    return Record(level, TS, msg, args, fields, None, "app")


def line(fmt: str, fields: dict[str, Any] | None = None, level: int = 20) -> str:
    return TextFormatter(fmt, utc=True)(record(fields, level))


# -- refused at construction, each with what is wrong ---------------------------------------

REFUSED = [
    ("{name[x]}", "{name[x]}: attribute and index access are not supported"),
    ("{message.x}", "{message.x}: attribute and index access are not supported"),
    ("{fields[0]} {message}", "{fields[0]}: attribute and index access"),
    ("{user.name}", "{user.name}: attribute and index access"),
    ("{0}", "positional field {0}"),
    ("{} {message}", "positional field {}"),
    ("{\u0663}", "positional field {\u0663}"),  # an Arabic-Indic 3: str.format's index too
    ("{message!x}", "{message!x}: unknown conversion (use !r, !s or !a)"),
    ("{message:{width}}", "{message:{width}}: nested fields in a format spec"),
    ("{level:d}", "{level:d}: Unknown format code 'd' for object of type 'str'"),
    ("{levelno:s}", "{levelno:s}: Unknown format code 's' for object of type 'int'"),
    ("{ts:q}", "{ts:q}: Unknown format code 'q' for object of type 'float'"),
    ("{user!r:d}", "{user!r:d}: Unknown format code 'd' for object of type 'str'"),
    (f"{{message:>{MAX_WIDTH + 1}}}", f"width over {MAX_WIDTH}"),
    (f"{{user:{MAX_WIDTH + 1}d}}", f"width over {MAX_WIDTH}"),
    (f"{{ts:.{MAX_PRECISION + 1}f}}", f"precision over {MAX_PRECISION}"),
    ("{message", "expected '}' before end of string"),
    ("message}", "Single '}' encountered"),
    ("{message!}", "unmatched '{' in format spec"),
    (
        "%(asctime)s %(levelname)s %(message)s",
        "stdlib %(name)s templates are not supported yet; write {name} fields",
    ),
    ("%(levelname)-8s {message}", "mixes stdlib %(name)s fields (%(levelname)-8s) with {name}"),
]


@pytest.mark.parametrize(("fmt", "problem"), REFUSED)
def test_a_bad_template_is_refused_at_construction_saying_why(fmt: str, problem: str) -> None:
    with pytest.raises(ValueError) as info:
        TextFormatter(fmt)
    assert str(info.value).startswith(f"invalid fmt {fmt!r}: ")
    assert problem in str(info.value)


@pytest.mark.parametrize(("fmt", "problem"), REFUSED[:4])
def test_a_bad_template_is_refused_by_logger_and_configure(
    tmp_path: Path, fmt: str, problem: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(problem)):
        loglane.Logger("x", stdout_level=None, stderr_level=None, fmt=fmt)
    with pytest.raises(loglane.ConfigError, match=re.escape(f"format: invalid fmt {fmt!r}")):
        loglane.configure(format=fmt, sinks=[])


def test_a_template_that_is_not_a_string_is_refused() -> None:
    with pytest.raises(ValueError, match="fmt must be a template string, got int"):
        TextFormatter(42)  # type: ignore[arg-type]


# -- accepted: fields render, and nothing a record holds breaks the line --------------------


def test_record_keys_with_specs_and_conversions() -> None:
    fmt = "{time} {level:<8}|{levelno:>3}|{name!r}|{message:.7}|{ts:.1f}|{fields}|{{x}}"
    assert line(fmt, {"user": "ann"}) == (
        "2026-11-22 10:12:54.796 INFO    | 20|'app'|hello a|1795342374.8| user=ann|{x}"
    )
    assert line("{iso}") == "2026-11-22T10:12:54.796000+00:00"


def test_a_field_with_a_spec_renders_as_text_where_the_spec_does_not_fit() -> None:
    fmt = "[{user:>5}] [{n:03d}] [{n:d}]"
    assert line(fmt, {"user": "ann", "n": 7}) == "[  ann] [007] [7]"
    assert line(fmt, {"n": "seven"}) == "[    -] [seven] [seven]"
    assert line(fmt) == "[    -] [-] [-]"  # missing fields are "-", as documented
    when = datetime.date(2026, 11, 22)
    assert line("{day:%d/%m/%Y} {day}", {"day": when}) == "22/11/2026 2026-11-22"
    assert line("{ a }|{user!r}|{user!a:>6}", {"user": "é"}) == "-|'é'|'\\xe9'"


class Hostile:
    def __str__(self) -> str:
        raise RuntimeError("no str")

    def __repr__(self) -> str:
        raise RuntimeError("no repr")

    def __format__(self, spec: str) -> str:
        raise RuntimeError("no format")


def test_fields_that_cannot_be_formatted_still_give_a_line() -> None:
    fmt = "{a} {b!r} {c:>4} {big}"
    out = line(fmt, {"a": Hostile(), "b": Hostile(), "c": Hostile(), "big": 10**5000})
    assert not FAILED.search(out), out
    assert out.startswith(
        "<unprintable Hostile: RuntimeError: no str> "
        "<unrepresentable Hostile: RuntimeError: no repr> "
    )
    assert "<unprintable int: ValueError: Exceeds the limit" in out


def test_levelno_with_a_spec_holds_for_any_level() -> None:
    assert line("{levelno:c}", level=65) == "A"
    assert line("{levelno:c}|{level}", level=2**40) == f"{2**40}|Level {2**40}"


def test_a_plain_percent_is_not_a_stdlib_template() -> None:
    assert line("100% {message} %s %(") == "100% hello ann %s %("


def test_the_logger_writes_template_lines_with_fields(tmp_path: Path) -> None:
    lines: list[str] = []
    log = loglane.Logger(
        "app",
        stdout_level=None,
        stderr_level=None,
        utc=True,
        fmt="{level:<5} {message} [{user:>4}] {fields}",
        sinks=[loglane.CallableSink(lines.append)],
    )
    log.info("in", user="ann")
    log.info("out")
    log.close()
    assert lines == ["INFO  in [ ann]  user=ann", "INFO  out [   -] "]


# -- generated templates ---------------------------------------------------------------------

# Record fields first: hypothesis draws early entries more often, and they are the keys
# whose values a template cannot know.
NAMES = st.sampled_from(["user", "n", "a", "missing", *RECORD_KEYS, "", "0", "a.b", "a[0]", " x "])
SPEC_PARTS = st.sampled_from(
    [
        "",
        "<",
        ">",
        "^",
        "=",
        "*^",
        "+",
        " ",
        "#",
        "0",
        "5",
        "10",
        ",",
        "_",
        ".2",
        ".0",
        "d",
        "s",
        "f",
        "x",
        "c",
        "%",
        "e",
        "g",
        "q",
        "99999",
        "%Y",
        "{",
        "}",
        "{n}",
    ]
)
FIELD = st.builds(
    lambda name, conv, spec: "{" + name + conv + (":" + "".join(spec) if spec else "") + "}",
    NAMES,
    st.sampled_from(["", "!r", "!s", "!a", "!x", "!"]),
    st.lists(SPEC_PARTS, max_size=4),
)
LITERAL = st.text(alphabet="ab %()\n\x00é", max_size=6) | st.sampled_from(["{", "}", "{{", "}}"])
GRAMMAR = st.lists(FIELD | LITERAL, max_size=6).map("".join)
FIELDS_ONLY = st.lists(FIELD, min_size=1, max_size=4).map(" ".join)
TEMPLATES = st.one_of(FIELDS_ONLY, FIELDS_ONLY, GRAMMAR, GRAMMAR, st.text(max_size=30))
VALUES = st.one_of(
    st.text(max_size=8),
    st.integers(),
    st.just(10**5000),
    st.floats(),
    st.none(),
    st.booleans(),
    st.datetimes(),
    st.lists(st.integers(), max_size=3),
    st.just(Hostile()),
)
RECORDS = st.builds(
    lambda level, fields: record(fields or None, level),
    st.integers(0, 2**70),
    st.dictionaries(st.sampled_from(["user", "n", "a", "message"]), VALUES, min_size=1, max_size=4),
)


@settings(max_examples=250, deadline=None)
@given(fmt=TEMPLATES, records=st.lists(RECORDS, min_size=1, max_size=4))
def test_generated_templates_fail_at_construction_or_never(fmt: str, records: list[Record]) -> None:
    try:
        formatter = TextFormatter(fmt, utc=True)
    except ValueError as exc:
        assert str(exc).startswith(("invalid fmt ", "fmt must be"))
        return
    for out in formatter.format_batch(records):
        assert isinstance(out, str) and not FAILED.search(out), (fmt, out)


FIELD_OF_RECORD = st.builds(
    lambda name, conv, spec: "{" + name + conv + (":" + "".join(spec) if spec else "") + "}",
    st.sampled_from(["user", "n", "a", "missing", "levelno"]),
    st.sampled_from(["", "", "!r", "!s", "!a"]),
    st.lists(
        st.sampled_from(
            ["<", ">", "*^", "+", "#", "0", "5", ",", ".2", "d", "s", "f", "x", "c", "%", "%Y"]
        ),
        max_size=3,
    ),
)


@settings(max_examples=200, deadline=None)
@given(
    fmt=st.lists(FIELD_OF_RECORD, min_size=1, max_size=3).map("|".join),
    records=st.lists(RECORDS, min_size=1, max_size=4),
)
def test_fields_of_records_with_any_spec_and_value_never_break_a_line(
    fmt: str, records: list[Record]
) -> None:
    """The part of a template whose values are only known per record: any value, any spec."""
    try:
        formatter = TextFormatter(fmt, utc=True)
    except ValueError:
        return
    for out in formatter.format_batch(records):
        assert not FAILED.search(out), (fmt, out)


class _Dash(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "-"


@settings(max_examples=200, deadline=None)
@given(
    fmt=TEMPLATES,
    fields=st.dictionaries(
        st.sampled_from(["user", "n", "a"]), st.text(max_size=5) | st.integers(), max_size=3
    ),
)
def test_an_accepted_template_means_what_str_format_means(fmt: str, fields: dict[str, Any]) -> None:
    """Compiling changes how fields are looked up, never what a line says when str.format
    itself would have succeeded."""
    try:
        formatter = TextFormatter(fmt, utc=True)
    except ValueError:
        return
    rec = record(fields or None)
    values = _Dash(fields)
    values.update(
        time=formatter.timestamp(TS),
        iso=iso_time(TS, True),
        ts=TS / 1e9,
        name="app",
        level=level_name(20),
        levelno=20,
        message=render_message(rec.msg, rec.args),
        fields=render_fields(fields) if fields else "",
    )
    try:
        expected = fmt.format_map(values)
    except Exception:  # str.format fails on this record: the line is the formatter's fallback
        return
    assert formatter(rec) == expected


@given(fmt=GRAMMAR)
def test_compile_keeps_the_literal_text(fmt: str) -> None:
    try:
        compiled = compile_template(fmt)
    except ValueError:
        return
    original = [lit for lit, *_ in string.Formatter().parse(fmt)]
    assert [lit for lit, *_ in string.Formatter().parse(compiled)] == original
