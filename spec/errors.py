"""The one error hierarchy of the vdynamo package.

Every error the package raises on purpose is a :class:`DynamoError`, split as
h11 splits its protocol errors (``h11/_util.py``: ``LocalProtocolError`` and
``RemoteProtocolError``):

* :class:`LocalError`: the caller's input was wrong (a configuration, a request,
  a trace file); nothing was changed, and the message names what was wrong.
* :class:`RemoteError`: the cluster could not do what was asked (a quorum not
  reached, a peer that did not answer, a peer that sent a bad message).

:class:`ConfigError` is raised by every configuration loader of every layer (the
spec's ``[cluster]`` tables, the implementation's ``ClusterConfig``, the model
checker's suite), so ``except vdynamo.ConfigError`` catches them all. Each layer
adds its own subclasses (``impl.errors``, ``model_check``); it never defines a
second base.

The classes live in ``spec`` because it is the lowest layer: every other layer
may import it (``vdynamo -> model_check -> impl -> spec``).
"""

from __future__ import annotations

__all__ = ["ConfigError", "DynamoError", "InvalidValueError", "LocalError", "RemoteError"]


class DynamoError(Exception):
    """Base of every error the vdynamo package raises on purpose."""


class LocalError(DynamoError):
    """The caller's input was wrong; it was refused where it entered and changed nothing."""


class RemoteError(DynamoError):
    """The cluster (a quorum, a peer) could not do what the request needed."""


class ConfigError(LocalError, ValueError):
    """A configuration is invalid; the message names the field, its value and the rule."""


class InvalidValueError(LocalError, ValueError):
    """A value handed to the spec's types was malformed (a clock, a DVV set, a ring,
    an action or payload in JSON); the message names it. Still a ``ValueError``."""
