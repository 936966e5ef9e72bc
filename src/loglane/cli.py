"""The ``loglane`` command: one subcommand per part of the pipeline.

Each subcommand lives in its own module and exposes ``main(argv) -> int``; this module only
dispatches, importing the subcommand lazily so ``loglane --help`` stays fast and an optional
extra that is missing only affects its own subcommand.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

# name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("loglane.demo", "log at full speed from several threads and report the numbers"),
    "serve": ("loglane.daemon.server", "run the file-append daemon on a Unix socket"),
    "monitor": ("loglane.analyse.cli", "watch or replay an HTTP access log; reports and alerts"),
    "ship": ("loglane.ship.cli", "ship log files or lines to RabbitMQ, at least once"),
    "accumulate": ("loglane.accumulate.cli", "condense test logs from files or a queue"),
    "results": ("loglane.accumulate.results_cli", "print the condensed test summary, graphs"),
}


def _usage() -> str:
    width = max(map(len, COMMANDS))
    lines = ["usage: loglane COMMAND [ARGS...]", "", "commands:"]
    lines += [f"  {name:<{width}}  {text}" for name, (_, text) in COMMANDS.items()]
    lines += ["", "Run 'loglane COMMAND --help' for a command's options."]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(_usage())
        return 0
    if args[0] in ("-V", "--version"):
        from importlib.metadata import version

        print(f"loglane {version('loglane')}")
        return 0
    name, rest = args[0], args[1:]
    if name not in COMMANDS:
        print(f"loglane: unknown command {name!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    module_name = COMMANDS[name][0]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            print(f"loglane: command {name!r} is not available yet", file=sys.stderr)
            return 2
        print(f"loglane {name}: missing dependency {exc.name!r} ({exc})", file=sys.stderr)
        return 2
    result: int = module.main(rest)
    return result
