"""Opt-in: log uncaught exceptions of the main thread and of other threads.

``sys.excepthook`` runs before the interpreter's exit, and loglane's drain runs at exit
(atexit), so the line is written. A ``KeyboardInterrupt`` goes to the previous hook untouched
(Ctrl-C is not an error). After logging, a hook installed before ours is still called, but
Python's default one is not: it would print the same traceback a second time.
"""

from __future__ import annotations

import sys
import threading
from types import TracebackType
from typing import Any

from loglane.record import CRITICAL, ERROR, parse_level

_previous: tuple[Any, Any] | None = None


def install_excepthook(logger: Any = None, *, level: int | str = CRITICAL,
                       thread_level: int | str = ERROR, threads: bool = True) -> None:
    """Log uncaught exceptions through ``logger`` (default: ``get_logger("uncaught")``).

    ``level`` is for the main thread (the process is about to exit), ``thread_level`` for
    other threads (only that thread ends). Idempotent: installing again replaces the logger
    and levels, and ``uninstall_excepthook`` restores the hooks found the first time.
    """
    global _previous
    if logger is None:
        from loglane.registry import get_logger

        logger = get_logger("uncaught")
    main_level, other_level = parse_level(level), parse_level(thread_level)
    if _previous is None:
        _previous = (sys.excepthook, threading.excepthook)
    prev_sys, prev_thread = _previous

    def excepthook(exc_type: type[BaseException], exc: BaseException,
                   tb: TracebackType | None) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            prev_sys(exc_type, exc, tb)
            return
        logger.log(main_level, "Uncaught exception, exiting: %s: %s", exc_type.__name__,
                   str_or_repr(exc), exc_info=(exc_type, exc, tb))
        logger.flush(5.0)  # the exit drains too; flushing here keeps order with stderr
        if prev_sys is not sys.__excepthook__:
            prev_sys(exc_type, exc, tb)

    def thread_excepthook(args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit:  # what threading's default does: ignore quietly
            return
        name = args.thread.name if args.thread is not None else "?"
        logger.log(other_level, "Uncaught exception in thread %s: %s: %s", name,
                   args.exc_type.__name__, str_or_repr(args.exc_value),
                   exc_info=(args.exc_type, args.exc_value, args.exc_traceback))
        if prev_thread is not threading.__excepthook__:
            prev_thread(args)

    sys.excepthook = excepthook
    if threads:
        threading.excepthook = thread_excepthook


def uninstall_excepthook() -> None:
    global _previous
    if _previous is not None:
        sys.excepthook, threading.excepthook = _previous
        _previous = None


def str_or_repr(exc: BaseException | None) -> str:
    try:
        return str(exc)
    except Exception:
        return object.__repr__(exc)
