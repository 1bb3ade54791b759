"""Structured logs: one JSON object per line on stderr (``vdynamo serve``).

Every line has ``ts`` (UTC, ISO 8601 with milliseconds), ``level``, ``logger``
(``vdynamo.runtime``, ``vdynamo.http``, ...) and ``message``; a record's extra
fields (``node``, ``http``) are added as keys. ``--log-format text`` gives
plain lines instead. docs/runtime.md shows an example.
"""

from __future__ import annotations

import datetime
import json
import logging
import sys

__all__ = ["JsonFormatter", "setup_logging"]

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message"}


class JsonFormatter(logging.Formatter):
    """A log record as one JSON object (see the module docstring)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "ts": datetime.datetime.fromtimestamp(record.created, datetime.UTC)
            .isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname.lower(), "logger": record.name,
            "message": record.getMessage()}
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                line[key] = value if isinstance(value, int | float | bool) else str(value)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def setup_logging(level: int, form: str = "json") -> None:
    """Send the ``vdynamo`` loggers' records at ``level`` and above to stderr,
    as JSON lines (``form`` "json") or plain text ("text")."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if form == "json" else logging.Formatter(
        "%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
