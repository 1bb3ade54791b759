"""Errors between nodes travel as ErrorCode values, mapped once at the boundary."""

from __future__ import annotations

import pytest

from impl import errors
from impl.errors import ErrorCode, code_of, error_of

CLASSES = [errors.BadRequestError, errors.TooLargeError, errors.BadContextError,
           errors.BadMessageError, errors.UnknownNodeError, errors.StorageError,
           errors.QuorumError, errors.RequestTimeoutError, errors.NodeDownError,
           errors.OverloadedError,
           errors.ConfigError, errors.LocalError, errors.RemoteError]


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_every_error_class_survives_the_trip_between_nodes(cls: type) -> None:
    code = code_of(cls("what went wrong"))
    back = error_of(code.value, "what went wrong")
    assert type(back) is cls and str(back) == "what went wrong"


def test_the_codes_are_distinct_and_an_unknown_one_is_a_remote_error() -> None:
    # every class has its code, and a QuorumError refused before writing, or
    # answered at once because replicas failed, two more
    assert len({code_of(cls("x")) for cls in CLASSES}) == len(CLASSES) == len(ErrorCode) - 2
    unknown = error_of("a-code-from-a-newer-version", "why")
    assert type(unknown) is errors.RemoteError and str(unknown) == "why"
    assert error_of("BadRequestError", "x").__class__ is errors.RemoteError  # no reflection


def test_a_peers_bad_data_is_a_remote_error_not_the_callers() -> None:
    assert issubclass(errors.BadMessageError, errors.RemoteError)
    assert not issubclass(errors.BadMessageError, errors.LocalError)
    assert issubclass(errors.BadMessageError, ValueError)


def test_a_quorum_error_refused_before_writing_stays_so_between_nodes() -> None:
    """Session 39's review: a put refused short of reachable primaries, nothing
    written, was read back by the forwarder as written (outcome unknown)."""
    refused = errors.QuorumError("nothing was written", written=False)
    assert code_of(refused) is ErrorCode.QUORUM_NOT_WRITTEN
    back = error_of(code_of(refused).value, str(refused))
    assert type(back) is errors.QuorumError and back.written is False
    assert error_of(ErrorCode.QUORUM.value, "short of W").written  # unknown, as before
