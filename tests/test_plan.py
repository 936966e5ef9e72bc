"""The routing plan: which level and sinks a logger name gets, from its most specific prefix."""

from __future__ import annotations

import pytest

import loglane
from loglane.plan import OFF, Plan, Route, default_plan, env_level


def plan() -> Plan:
    sinks = [loglane.CallableSink(print, level="DEBUG"), loglane.CallableSink(print,
                                                                               level="ERROR")]
    return Plan(sinks=sinks, routes={
        "": Route(loglane.INFO, (0,)),
        "db": Route(loglane.DEBUG),  # a level only: sinks still come from the root
        "db.pool": Route(sinks=(1,)),  # sinks only: the level still comes from "db"
        "quiet": Route(sinks=()),
    })


@pytest.mark.parametrize(
    ("name", "resolved", "threshold"),
    [
        ("", (loglane.INFO, (0,)), loglane.INFO),
        ("root", (loglane.INFO, (0,)), loglane.INFO),
        ("app.web", (loglane.INFO, (0,)), loglane.INFO),
        ("db", (loglane.DEBUG, (0,)), loglane.DEBUG),
        ("db.pool.conn", (loglane.DEBUG, (1,)), loglane.ERROR),  # the sink's own level wins
        ("dbx", (loglane.INFO, (0,)), loglane.INFO),  # a prefix is a whole dotted part
        ("quiet.child", (loglane.INFO, ()), OFF),  # no sinks: the call returns at once
    ],
)
def test_each_setting_comes_from_the_most_specific_prefix_that_sets_it(
    name: str, resolved: tuple[int, tuple[int, ...]], threshold: int,
) -> None:
    p = plan()
    assert p.resolve(name) == resolved
    assert p.threshold(name) == threshold


def test_the_environment_moves_the_default_level(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGLANE_LEVEL", " warning ")
    assert env_level() == loglane.WARNING
    assert default_plan().resolve("any")[0] == loglane.WARNING
    monkeypatch.setenv("LOGLANE_LEVEL", "LOUD!")
    with pytest.raises(ValueError, match="LOGLANE_LEVEL: unknown log level"):
        env_level()
    monkeypatch.setenv("LOGLANE_LEVEL", "")
    assert env_level() is None
