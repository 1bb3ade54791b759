"""impl.forwarding: the behaviours mutmut found no test for (docs/refinement.md,
"Mutation score")."""

from __future__ import annotations

from types import SimpleNamespace

from impl.errors import BadRequestError
from impl.forwarding import refuse


def test_a_refusal_answers_request_id_0_when_the_request_has_no_usable_id() -> None:
    error = BadRequestError("bad")
    assert refuse(object(), error).request_id == 0  # none at all
    for bad in (True, False, "7", 7.0, None):
        reply = refuse(SimpleNamespace(request_id=bad), error)
        assert reply.request_id == 0 and type(reply.request_id) is int, bad
    assert refuse(SimpleNamespace(request_id=7), error).request_id == 7
    assert refuse(object(), error).error is error
