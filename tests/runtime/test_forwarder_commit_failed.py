"""A node that merely forwards a put is not failed by its own commit failing (a full
disk): the forwarding messages and the coordinator's relayed answer acknowledge
none of its writes, so they do not wait for its commit (session 51, review of the
service probe; docs/runtime.md "Review of the service probe's fixes (session 51,
review)").

Found re-running the service probe's 16 concurrent W = 3 puts through a full n1 of
four processes (sloppy quorum): the puts of keys outside n1's top N, which n1
forwards, were answered 504 "n3, granted the forwarded put, did not answer within
1.3 s" or 500 StorageError naming n1's SQLite file, though n1 writes nothing for
them: with ``fsync = "always"`` every Send and Reply that follows a write not yet
durable waited behind n1's pending group commit (``NodeServer._held``), and when
that commit failed the held Sends (n1's Forward, ForwardGrant) were dropped and
the held Replies (the coordinator's answer relayed) turned into the error.

Scenario (in one loop, three nodes, N = 2, W = 2): n1's group commit of another
put is held open on its writer thread; a put of a key whose top 2 are n2 and n3 is
sent to n1. It is answered 200 while the commit is still open (before: it waited,
then was 500 or 504 when the commit failed); then the commit fails.

Mutants (checked by hand, session 51 review): the forwarding Sends held as before:
the put times out (504); the relayed Reply held as before: it waits for the
commit and is turned into its error (500)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from impl import errors
from tests.runtime.live import call, cluster, run, url


def test_a_forwarded_put_does_not_wait_for_nor_fail_with_the_forwarders_commit(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()

    async def scenario() -> tuple[int, bool, int, str]:
        async with cluster(tmp_path, n=2, r=1, w=2, request_timeout=2.0,
                           anti_entropy=False) as servers:
            n1 = servers[0]
            committer = n1.committer
            assert committer is not None
            own = next(b"own%d" % i for i in range(100)
                       if "n1" in n1.node.preference_list(b"own%d" % i)[:2])
            away = next(b"away%d" % i for i in range(100)
                        if "n1" not in n1.node.preference_list(b"away%d" % i)[:2])
            commit = committer._commit
            held: list[int] = []

            def failing(sequence: int, error: errors.StorageError | None) -> None:
                if held or release.is_set():
                    commit(sequence, error)
                    return
                held.append(sequence)  # n1's commit of `own`, open until released
                release.wait(20)
                committer.engine.abort_batch()
                committer._on_durable(sequence, errors.StorageError("disk is full"))

            monkeypatch.setattr(committer, "_commit", failing)
            put_own = asyncio.ensure_future(call("PUT", url(n1, "/kv/" + own.decode()),
                                                 b"tea"))
            for _ in range(300):
                if held:
                    break
                await asyncio.sleep(0.01)
            assert held and committer.pending
            status, _, body = await call("PUT", url(n1, "/kv/" + away.decode()), b"milk")
            still_open = not release.is_set() and committer.pending > 0
            release.set()
            own_status, _, own_body = await put_own
            monkeypatch.undo()
            return status, still_open, own_status, str(body)[:300] + str(own_body)[:0]

    try:
        status, still_open, own_status, body = run(scenario(), 60)
    finally:
        release.set()
    assert status == 200, (status, body)
    assert still_open  # answered while n1's commit was open
    assert own_status in (200, 503), own_status  # n1's own: n3 a fallback for its copy
