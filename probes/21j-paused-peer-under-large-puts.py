"""A healthy peer paused while large writes are sent to it (session 58's review of
red team 7's TCP_USER_TIMEOUT): a 20 s GC-like pause, a VM frozen, a debugger's
SIGSTOP. The paused process's kernel still acknowledges what arrives until its
receive buffer is full; then it advertises a zero window and answers the sender's
window probes. On Linux since 5.11 ("tcp: fix TCP_USER_TIMEOUT with zero window")
a window held shut longer than TCP_USER_TIMEOUT aborts the sender's connection
although the peer answers every probe: red team 7 set it to 25 s on every peer
connection (impl/runtime.py ``_keep_alive``).

4 processes (`serve --node`), N=3 R=2 W=2, dvv, defaults. 10 keys at w=3; n2
SIGSTOPped for PAUSE s (20 s, under the bound; then 35 s, over it) while 4 threads
put 256 KB values at w=2 through n1 and n3 (n2's part goes to a fallback with a
hint, or is lost in the full buffers); n2 SIGCONTed; 20 s later every
acknowledged put is read at r=3 through every node, and every node's
``hints_pending`` is polled until 0 (60 s at most).

Right value: after the 20 s pause the n1->n2 flows are the same (no reset); after
either pause every acknowledged put reads its value at r=3 through every node and
every hint is delivered (a reset loses only frames in flight, which the protocol
tolerates as lost messages: the hints stay kept until acknowledged, anti-entropy
and read repair bring the rest).

Run from the project's root: .venv/bin/python probes/21j-paused-peer-under-large-puts.py
Loopback only, about 3 min; every process stopped (SIGCONT first). Needs `ss`
(iproute2) to report the flows; without it the flows are not compared.
"""
from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import Checks, LocalNodes, flows_between

OCTET = {"Content-Type": "application/octet-stream"}


def flows(one: int, other: int) -> set[tuple[int, int]]:
    """The established TCP flows from process ``one`` to process ``other``
    (:func:`_cluster.flows_between`), as a set."""
    return set(flows_between(one, other))


def hints_pending(c: LocalNodes, node: str) -> int:
    """The hints ``node`` keeps (``/status``'s ``hints_pending``, summed)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{c.http[node]}/status", timeout=5) as resp:
        status = json.loads(resp.read())
    pending = status.get("hints_pending", {})  # intended node -> hints kept for it
    return sum(pending.values()) if isinstance(pending, dict) else int(pending)


def pause(c: LocalNodes, seconds: float, tag: str, acked: dict[str, bytes]) -> dict[str, object]:
    """SIGSTOP n2 for ``seconds`` under 4 writers; the n1->n2 flows before and after,
    and the writers' counts. Acknowledged puts are added to ``acked``."""
    n1, n2 = c.procs["n1"].pid, c.procs["n2"].pid
    before = flows(n1, n2)
    stop = time.time() + seconds
    codes: dict[int, int] = {}
    lock = threading.Lock()

    def writer(t: int) -> None:
        i = 0
        while time.time() < stop:
            key, value = f"{tag}-{t}-{i}", os.urandom(256 * 1024)
            try:
                code = c.request("PUT", key, value, ("n1", "n3")[t % 2], "?w=2", OCTET,
                                 timeout=10)[0]
            except OSError:
                code = 0
            with lock:
                codes[code] = codes.get(code, 0) + 1
                if code == 200:
                    acked[key] = value
            i += 1

    os.kill(n2, signal.SIGSTOP)
    try:
        threads = [threading.Thread(target=writer, args=(t,)) for t in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        during = flows(n1, n2)
    finally:
        os.kill(n2, signal.SIGCONT)
    time.sleep(2.0)
    return {"before": before, "during": during, "after": flows(n1, n2), "codes": codes}


def main() -> None:
    checks = Checks()
    with LocalNodes(nodes=4, per_process=True) as c:
        first = [c.request("PUT", f"k{i}", b"v1", "n1", "?w=3", OCTET)[0] for i in range(10)]
        checks("puts before the pause 200", set(first) == {200}, first)
        time.sleep(1.0)
        for seconds in (20.0, 35.0):
            acked: dict[str, bytes] = {}
            seen = pause(c, seconds, f"p{int(seconds)}", acked)
            kept = seen["before"] & seen["after"]  # type: ignore[operator]
            print(f"pause {seconds} s: puts {seen['codes']}; n1->n2 flows before "
                  f"{sorted(seen['before'])}, at the end of the pause {sorted(seen['during'])}, "
                  f"after {sorted(seen['after'])}")
            if seconds < 25 and seen["before"]:
                checks(f"{seconds} s pause: the n1->n2 flows kept (no reset)",
                       seen["before"] == seen["after"], (seen["before"], seen["after"]))
            elif seen["before"]:
                print(f"  {seconds} s pause: flows kept {sorted(kept)}")
            time.sleep(18.0)
            deadline, pending = time.time() + 60, {}
            while time.time() < deadline:
                pending = {node: hints_pending(c, node) for node in c.names}
                if not any(pending.values()):
                    break
                time.sleep(2.0)
            checks(f"{seconds} s pause: every hint delivered within 80 s", not any(
                pending.values()), pending)
            wrong = [(key, node) for key, value in acked.items() for node in c.names
                     if c.values(key, node, "?r=3") != [value]]
            checks(f"{seconds} s pause: every acknowledged put ({len(acked)}) reads its value "
                   "at r=3 through every node", not wrong and bool(acked), wrong[:6])
    checks.finish()


if __name__ == "__main__":
    main()
