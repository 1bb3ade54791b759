"""SIGHUP stops ``vdynamo serve`` gracefully, as SIGTERM does (session 50's service
probe; case 21's kind: robustness).

The terminal of a ``vdynamo serve`` run by hand hangs up (an ssh session lost), or an
operator sends SIGHUP as to a daemon: before, its default action killed the process
at once, mid-request, with no line in its log; a put in flight was dropped without
an answer (``RemoteDisconnected``: its client cannot tell whether it was written).
Seen on three processes (``vdynamo cluster up``): of 200 puts sent one after another
through n1, the one in flight at the SIGHUP got no answer and the node exited
without a log line. Now the node logs ``stopping (SIGHUP)``, answers what is in
flight (here a put waiting on a stopped replica: its 504 at ``request_timeout``),
closes its storage and exits 0, and a restart serves what it acknowledged.

Mutant (checked failing, session 50): SIGHUP left out of ``impl.serve.STOP_SIGNALS``
(the tree before): the process dies of the signal, the put unanswered.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import threading
import time
from pathlib import Path

from tests.runtime.procs import ServedNodes, http_call


def test_sighup_answers_what_is_in_flight_and_exits_0(tmp_path: Path) -> None:
    names = ("n1", "n2")
    with ServedNodes(tmp_path, names, ["n = 2", "r = 1", "w = 1",
                                       "request_timeout = 2"]) as nodes:
        nodes.start(*names)
        nodes.wait_ready(*names)
        assert http_call("PUT", nodes.url("n1", "?w=2"), b"kept")[0] == 200
        os.kill(nodes.procs["n2"].pid, signal.SIGSTOP)  # n1's put at W = 2 waits on it
        answered: list[object] = []

        def put() -> None:
            try:
                answered.append(http_call("PUT", nodes.url("n1", "?w=2"), b"late")[0])
            except OSError as error:  # RemoteDisconnected, a reset: no answer
                answered.append(repr(error))

        writer = threading.Thread(target=put)
        writer.start()
        deadline = time.monotonic() + 10
        status_url = f"http://127.0.0.1:{nodes.http['n1']}/status"
        while json.loads(http_call("GET", status_url)[2])["pending"] == 0:  # until the
            # put is in flight at n1 (SIGHUP before it would refuse its connection)
            assert time.monotonic() < deadline, "the put never reached n1"
            time.sleep(0.05)
        n1 = nodes.procs["n1"]
        os.kill(n1.pid, signal.SIGHUP)
        writer.join(15)
        code = n1.wait(15)
        log = (tmp_path / "n1.log").read_text()
        assert code == 0, (code, log[-1500:])
        assert answered == [504], answered  # W = 2 not reached: answered, not dropped
        assert "n1: stopping (SIGHUP)" in log, log[-1500:]
        os.kill(nodes.procs["n2"].pid, signal.SIGCONT)
        nodes.start("n1")
        nodes.wait_ready("n1")
        status, _, body = http_call("GET", nodes.url("n1", "?r=2"),
                                    headers={"Accept": "application/json"})
        values = [base64.b64decode(value) for value in json.loads(body)["values"]]
        assert status in (200, 300) and b"kept" in values, (status, values)  # the blind
        # put "late" (outcome unknown) may be its sibling


def test_a_stop_signal_sent_again_while_the_node_exits_does_not_kill_it(
        tmp_path: Path) -> None:
    """A hangup may signal twice (the shell's SIGHUP to its jobs, then the kernel's
    to the foreground group), an operator may press Ctrl-C or send SIGTERM again:
    once the node stopped, ``asyncio.run`` closing its loop gave each signal back its
    default action, and one arriving while the interpreter exited killed it (exit -1,
    a graceful stop reported as a death: 1 of 1 with two SIGHUPs 50 ms apart;
    session 50's review). Signalled every 2 ms until it exits: exit 0.

    Mutants (checked failing, session 50's review): the signals not ignored at the
    end of ``impl.serve._run`` (the tree before), or SIGHUP left out of those
    ignored: exit -1."""
    with ServedNodes(tmp_path, ("n1",), ["n = 1", "r = 1", "w = 1"]) as nodes:
        nodes.start("n1")
        nodes.wait_ready("n1")
        n1 = nodes.procs["n1"]
        deadline = time.monotonic() + 15
        while n1.poll() is None and time.monotonic() < deadline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(n1.pid, signal.SIGHUP)
            time.sleep(0.002)
        log = (tmp_path / "n1.log").read_text()
        assert n1.wait(5) == 0, (n1.returncode, log[-1500:])
        assert log.count("n1: stopping (SIGHUP)") == 1, log[-1500:]
