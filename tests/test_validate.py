"""loglane.validate: the checks of the arguments that configure a logger."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import loglane
from loglane import validate
from loglane.format import JsonFormatter, TextFormatter

ANY_VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**300),
    st.floats(),
    st.text(max_size=8),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
    st.just(object()),
)


@pytest.mark.parametrize("value", [1, 100_000, 2**70])
def test_queue_size_takes_positive_ints(value: int) -> None:
    assert validate.queue_size(value) == value


@pytest.mark.parametrize("value", [0, -1, True, 2.5, "100", None, [10]])
def test_queue_size_refuses_the_rest(value: object) -> None:
    with pytest.raises(
        ValueError,
        match=re.escape(f"queue_size must be a positive int, got {validate.shown(value)}"),
    ):
        validate.queue_size(value)


def test_overflow() -> None:
    assert validate.overflow("drop") == "drop" and validate.overflow("block") == "block"
    for value in ["DROP", "", None, ["drop"], {"drop": 1}]:
        with pytest.raises(ValueError, match="overflow must be 'drop' or 'block', got"):
            validate.overflow(value)


@pytest.mark.parametrize(
    ("value", "seconds"), [(None, None), (0, 0.0), (2, 2.0), (0.25, 0.25), (1e300, 1e300)]
)
def test_block_timeout_takes_finite_seconds_or_none(value: object, seconds: float | None) -> None:
    got = validate.block_timeout(value)
    assert got == seconds and (got is None or type(got) is float)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, -1, -0.5, 10**400, -(10**400)])
def test_block_timeout_refuses_what_is_not_a_finite_wait(value: object) -> None:
    with pytest.raises(
        ValueError,
        match=r"^block_timeout must be a finite number of seconds "
        r">= 0 or None, got ",
    ):
        validate.block_timeout(value)


@pytest.mark.parametrize("value", ["5", True, [1], b"1"])
def test_block_timeout_refuses_what_is_not_a_number(value: object) -> None:
    with pytest.raises(ValueError, match=r"^block_timeout must be a number of seconds or None"):
        validate.block_timeout(value)


def test_levels() -> None:
    assert validate.level("info") == 20 and validate.level(25) == 25
    assert validate.optional_level(None, "stdout_level") is None
    for value, problem in [
        ("LOUD", "unknown log level 'LOUD'"),
        (-3, "must not be negative"),
        (2.5, "must be an int or a name, got float"),
        (True, "unknown log level True"),
    ]:
        with pytest.raises(ValueError, match=re.escape("file_level: ") + ".*" + re.escape(problem)):
            validate.level(value, "file_level")


def test_formatter() -> None:
    assert isinstance(validate.formatter(None), TextFormatter)
    assert validate.formatter("{message}", utc=True).utc  # type: ignore[attr-defined]
    assert isinstance(validate.formatter(json=True), JsonFormatter)

    def mine(record: Any) -> str:
        return "x"

    assert validate.formatter(mine) is mine
    with pytest.raises(ValueError, match="give either fmt or json=True, not both"):
        validate.formatter("{message}", json=True)
    with pytest.raises(ValueError, match=r"invalid fmt '\{name\[x\]\}'"):
        validate.formatter("{name[x]}")
    for value in [42, b"{message}", ["{message}"]]:
        with pytest.raises(
            ValueError, match="fmt must be a template string or a callable formatter, got"
        ):
            validate.formatter(value)


@given(value=ANY_VALUE)
def test_every_check_returns_or_raises_value_error(value: object) -> None:
    for check in (
        validate.queue_size,
        validate.overflow,
        validate.block_timeout,
        validate.level,
        validate.formatter,
    ):
        try:
            check(value)
        except ValueError as exc:
            assert len(str(exc)) < 400


def test_shown_is_short_and_never_raises() -> None:
    class Broken:
        def __repr__(self) -> str:
            raise RuntimeError("no")

    deep: Any = []
    for _ in range(5000):
        deep = [deep]
    assert validate.shown("x" * 10_000).endswith("xxx'") and len(validate.shown("x" * 10_000)) < 80
    assert len(validate.shown(deep)) < 80
    assert validate.shown(Broken()).startswith("<")


# -- Logger(...) -----------------------------------------------------------------------------
def quiet(**kwargs: Any) -> loglane.Logger:
    return loglane.Logger("x", **{"stdout_level": None, "stderr_level": None, **kwargs})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"fmt": "{name[x]}"}, "invalid fmt '{name[x]}': {name[x]}: attribute and index access"),
        ({"fmt": "{message.x}"}, "invalid fmt '{message.x}': {message.x}: attribute"),
        ({"fmt": "%(message)s"}, "stdlib %(name)s templates are not supported yet"),
        ({"queue_size": 0}, "queue_size must be a positive int"),
        ({"overflow": "explode"}, "overflow must be 'drop' or 'block'"),
        ({"block_timeout": -1}, "block_timeout must be"),
        ({"stdout_level": "LOUD"}, "unknown log level 'LOUD'"),
        pytest.param(
            {"block_timeout": math.nan}, "block_timeout must be a finite number"
        ),
        pytest.param(
            {"block_timeout": math.inf}, "block_timeout must be a finite number"
        ),
        pytest.param(
            {"block_timeout": "5"}, "block_timeout must be a number of seconds"
        ),
        pytest.param(
            {"fmt": 42}, "fmt must be a template string or a callable formatter"
        ),
        pytest.param(
            {"stdout_level": "LOUD"}, "stdout_level: unknown log level"
        ),
    ],
)
def test_logger_arguments_are_checked_at_construction(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        quiet(**kwargs)


def test_a_bad_logger_argument_leaves_no_file_or_directory_behind(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="queue_size must be a positive int"):
        loglane.Logger("x", tmp_path / "logs" / "app.log", queue_size=0)
    assert not (tmp_path / "logs").exists()
