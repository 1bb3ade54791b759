"""A request waiting for its turn in a blocking Client closed meanwhile raises
LocalError (nothing sent), as any request of a closed client does.

Session 32's review of the client's turns (:attr:`impl.http_client.Client.IN_FLIGHT`):
a thread that took its node's pool before another thread closed the client sent on
that closed httpx pool and got httpx's bare ``RuntimeError: Cannot send a request,
as the client has been closed`` (session 29's user probe made that LocalError for a
request started after the close). No node is needed: nothing is sent."""

from __future__ import annotations

import threading
import time

import pytest

from impl.errors import LocalError
from impl.http_client import Client


def test_a_request_waiting_for_its_turn_in_a_closed_client_raises_local_error() -> None:
    client = Client(["127.0.0.1:1"], timeout_s=1.0)
    for _ in range(client.IN_FLIGHT):  # every turn held: the request waits for one
        client._turns.acquire()
    raised: list[BaseException] = []

    def put() -> None:
        try:
            client.put("k", b"v")
        except BaseException as error:  # the test reads what it was
            raised.append(error)

    thread = threading.Thread(target=put)
    thread.start()
    time.sleep(0.3)  # it took its pool and waits for a turn
    client.close()
    for _ in range(client.IN_FLIGHT):
        client._turns.release()
    thread.join(10)
    assert not thread.is_alive()
    assert len(raised) == 1
    with pytest.raises(LocalError, match="closed"):
        raise raised[0]
