"""A replaced disk that fills *during* its rebuild (22i and 22j fill a serving node's
disk; 01a-01n replace disks that have room): the spare put in is smaller than the
data its ranges hold (a 100 GB volume where the failed one was 1 TB; a tmpfs set
too small), so the rebuild's writes fail partway (Cassandra: a bootstrap that runs
out of disk and leaves the node half-streamed and serving, CASSANDRA-12437's
family; Riak: handoff into a full disk).

3 processes (`serve --node`), dvv, N=3 R=2 W=2, fast rounds. 40 keys of 16 KB at
w=3 (about 660 KB on each node). n2 SIGKILLed, its files deleted, started again with
a file-size limit of 256 KB (RLIMIT_FSIZE: writes past it fail with EFBIG, as on a
full disk). For 20 s: every 0.5 s a read of one of the 40 keys at r=1 through n2
and a put of a new key at w=2 through n1. Then n2 SIGKILLed and started without the
limit; after it is ready, every key (old and acknowledged new) at r=1 through n2.

Right value: n2's reads at r=1 during the fill answer their key's value or a 5xx
(never a 404 nor another value: a rebuilding node must not say "not found" for
what it has not copied yet); every put through n1 is 200; n2 stays up (a failed
write is not a crash loop) and its log has fewer than 300 lines; after the restart
without the limit, ready within 30 s and every key right through n2 alone.

Run from the project's root: .venv/bin/python probes/01p-disk-fills-during-a-rebuild.py
Loopback only, about 45 s; every process stopped.
"""
from __future__ import annotations

import resource
import time
from collections import Counter

from _cluster import Checks, LocalNodes

SETTINGS = ('clock = "dvv"\ngossip_interval = 0.25\nanti_entropy_interval = 0.5\n'
            'hint_scan_interval = 0.25')
LIMIT = 256 * 1024


def limited() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, LIMIT))


def main() -> None:
    checks = Checks()
    c = LocalNodes(nodes=3, per_process=True, extra_cluster=SETTINGS)
    try:
        for name in c.names:
            c.start_node(name)
        old = c.put_random(40, 16384, checks)
        c.wipe("n2")
        log = c.dir / "n2.log"
        lines_before = len(log.read_bytes().splitlines()) if log.exists() else 0
        n2 = c.start_node("n2", preexec_fn=limited)
        at = time.monotonic()
        wrong: list[str] = []
        reads: Counter[int] = Counter()
        puts: Counter[int] = Counter()
        new: dict[str, bytes] = {}
        i = 0
        while time.monotonic() - at < 20:
            k = f"k{i % 40}"
            status, body = c.get(k, "n2", "?r=1")
            reads[status] += 1
            if status < 500 and status != 0 and (status, body) != (200, old[k]):
                wrong.append(f"{round(time.monotonic() - at, 1)} s {k}: {status} {body[:24]!r}")
            try:
                code = c.put(f"new{i}", b"n%d" % i, query="?w=2")
            except OSError:
                code = 0
            puts[code] += 1
            if code == 200:
                new[f"new{i}"] = b"n%d" % i
            i += 1
            time.sleep(0.5)
        alive = n2.poll() is None
        sizes = {f.name: f.stat().st_size for f in c.dir.glob("n2.sqlite*")}
        lines = len(log.read_bytes().splitlines()) - lines_before
        c.kill("n2")
        c.start_node("n2")
        ready = c.ready_within("n2", 30)
        time.sleep(2)
        missing = [k for k, v in {**old, **new}.items() if c.get(k, "n2", "?r=1") != (200, v)]
        print(f"during the fill: n2 reads {dict(reads)}, wrong {len(wrong)} {wrong[:3]}; "
              f"puts through n1 {dict(puts)}")
        print(f"n2 up at the end of the fill {alive}; its files {sizes}; log lines {lines}")
        print(f"restarted without the limit: ready after {ready} s; at r=1 through n2 missing "
              f"or wrong {len(missing)} of {len(old) + len(new)} {missing[:4]}")
        checks("no 404 nor other value through the filling n2", not wrong, wrong[:4])
        checks("every put through n1 200", set(puts) == {200}, dict(puts))
        checks("n2 stays up while full", alive)
        checks("n2 logs under 300 lines", lines < 300, lines)
        checks("n2 ready within 30 s of its restart", ready is not None, ready)
        checks("every key right through n2 after", not missing, missing[:4])
    finally:
        c.__exit__()  # every process stopped, the directory removed
    checks.finish()


if __name__ == "__main__":
    main()
