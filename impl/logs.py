"""Structured logs: one JSON object per line on stderr (``vdynamo serve``).

Every line has ``ts`` (UTC, ISO 8601 with milliseconds), ``level``, ``logger``
(``vdynamo.runtime``, ``vdynamo.http``, ...) and ``message``; a record's extra
fields (``node``, ``http``) are added as keys. ``--log-format text`` gives
plain lines instead. docs/runtime.md shows an example.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import logging
import sys

__all__ = ["JsonFormatter", "WindowedLog", "setup_logging"]

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


class WindowedLog:
    """One kind of ERROR line, at most ``lines`` per ``window_s`` seconds of
    ``loop``'s clock; those over it are summed up in one line when the window ends
    (on a timer, and at :meth:`summarize`), naming how many and the last one.

    Every line begins with ``prefix`` (the node's name); ``what`` names the lines
    for the summary (``"failed group commits"``), ``tail`` says where every one is
    counted. For a condition that repeats at the rate of
    the traffic (a full disk fails every commit, and anti-entropy retries what
    failed): before session 32's service probe each failed group commit was a line,
    429 in 55 s at a node whose file-size limit was reached, 60 puts sent to it,
    on the disk that was full. The refused peers and HTTP connections keep
    their own windows (``NodeServer._refuse_peer``, ``HttpApi._log_refusal``)."""

    def __init__(self, logger: logging.Logger, loop: asyncio.AbstractEventLoop, prefix: str,
                 what: str, tail: str, *, lines: int = 10, window_s: float = 10.0) -> None:
        self.logger, self.loop, self.prefix = logger, loop, prefix
        self.what, self.tail = what, tail
        self.lines, self.window_s = lines, window_s
        self._start = -window_s
        self._logged = 0
        self._quiet = 0
        self._last = ""
        self._summary: asyncio.TimerHandle | None = None
        self.closed = False

    def error(self, message: str) -> None:
        """Log ``message`` at ERROR if the window has room, else count it."""
        now = self.loop.time()
        if now - self._start >= self.window_s:
            self.summarize()
            self._start, self._logged = now, 0
        if self._logged < self.lines:
            self._logged += 1
            self.logger.error("%s: %s", self.prefix, message)
            return
        self._quiet += 1
        self._last = message
        if self._summary is None and not self.closed:
            self._summary = self.loop.call_at(self._start + self.window_s, self.summarize)

    def summarize(self) -> None:
        """Log the line summing up the window's lines not logged, if any."""
        if self._summary is not None:
            self._summary.cancel()
            self._summary = None
        if self._quiet:
            self.logger.error("%s: %d more %s were not logged in %g s (%s); the last: %s",
                              self.prefix, self._quiet, self.what, self.window_s, self.tail,
                              self._last)
        self._quiet, self._last = 0, ""

    def close(self) -> None:
        """Sum up what is left and arm no timer again (the node stops)."""
        self.closed = True
        self.summarize()
