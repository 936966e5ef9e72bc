"""Access-log analysis: `loglane monitor` (live or replayed reports and traffic alerts).

The command is `loglane.analyse.cli:main`; docs/monitor.md describes it.
"""
