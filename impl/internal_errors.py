"""Errors of ours, told apart from a peer's bad data.

A node checks every peer message where it enters (its type, its sender, its
constructor's checks) before a handler runs. An error raised after that is
either bad data deep inside a valid-looking message (a record that does not
decode, a clock out of order: the peer's fault, dropped and counted as
``dropped``) or a bug of ours (an internal error), e.g. a message this node
builds that fails its own constructor's checks. Internal errors are counted as
``stats["internal-error"]`` and logged at ERROR on the ``vdynamo.internal``
logger, with the traceback; the test suite fails every test that logs one
(``tests/conftest.py``), so a mechanism cannot hide a bug by looking like bad
input (issue: refinement that bites, section 1).
"""

from __future__ import annotations

import collections
import logging

__all__ = ["INTERNAL_LOG", "raised_building_a_message", "report_internal_error"]

INTERNAL_LOG = logging.getLogger("vdynamo.internal")
"""Errors of ours found while handling a peer's message (never the peer's bad data)."""


def raised_building_a_message(error: BaseException) -> bool:
    """Whether ``error`` was raised by the checks of a message this node was building
    (the received message's checks ran before its handler: what fails while
    handling it inside a message constructor is a message of ours)."""
    trace = error.__traceback__
    while trace is not None:
        code = trace.tb_frame.f_code
        if code.co_name == "__post_init__" and code.co_filename.endswith(
                ("impl/messages.py", "impl\\messages.py")):
            return True
        trace = trace.tb_next
    return False


def report_internal_error(name: str, now: float, stats: collections.Counter[str],
                          log: collections.deque[str], src: str, message: object,
                          error: Exception) -> None:
    """Count and log an error of node ``name``'s own while it handled ``message``
    (valid, from known peer ``src``): ``stats["internal-error"]``, a line in the
    node's ``log``, and ERROR with the traceback on :data:`INTERNAL_LOG`."""
    stats["internal-error"] += 1
    log.append(f"{now:.3f} INTERNAL ERROR handling {type(message).__name__} "
               f"from {src!r}: {error!r}")
    INTERNAL_LOG.error("%s: internal error handling %s from %s", name,
                       type(message).__name__, src, exc_info=error)
