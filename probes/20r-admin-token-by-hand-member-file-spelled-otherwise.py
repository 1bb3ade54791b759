"""An admin token made by hand, as docs/runtime.md ("Force-remove of a node down for
good") says, from the operator's copy of the cluster file, sent to a member whose own
copy spells its peer socket another way: ``localhost:P``, or ``0.0.0.0:P`` (every
interface, as a container binds), where the operator's says ``127.0.0.1:P`` (review of
red team 13, session 61: its fix, 20q, signed the member's own file's spelling only).

4 processes (`serve --node`), n1 started from its own copy of the file, n2-n4 from the
operator's; 3 puts at w=3; n4 SIGKILLed, 15 s; the token for n1 made with the
address the operator's copy gives n1. Then a twin cluster's n1 (another port) is sent
the same token.

Right value: 200 ``{"removed": "n4"}`` from n1 for both spellings (the same socket);
the twin's n1 401. After red team 13's fix both spellings were 401 "admin token does
not verify ... at peer address localhost:P" (a legitimate removal refused).

Run from the project's root:
.venv/bin/python probes/20r-admin-token-by-hand-member-file-spelled-otherwise.py
Loopback only, about 50 s; every process stopped.
"""
from __future__ import annotations

import shutil
import sys
import time
import tomllib
from importlib import import_module
from pathlib import Path

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import Checks, LocalNodes  # noqa: E402

from impl.http_api import admin_authorization  # noqa: E402

admin = import_module("20k-admin-token-replayed-after-a-clock-step").admin


def one(spelling: str, checks: Checks) -> None:
    c = LocalNodes(nodes=4, per_process=True)
    own = c.dir / "n1-host"
    own.mkdir()
    ours = f'peer = "127.0.0.1:{c.peer["n1"]}"'
    (own / "cluster.toml").write_text(c.config.read_text().replace(
        ours, f'peer = "{spelling}:{c.peer["n1"]}"'))
    (own / "cluster.toml").chmod(0o600)
    conf = tomllib.loads(c.config.read_text())["cluster"]
    twin = LocalNodes(nodes=4, per_process=True)
    twin.config.write_text(conf_with_secret(twin.config.read_text(), conf["secret"]))
    try:
        c.start_node("n1", config=own / "cluster.toml")
        for name in ("n2", "n3", "n4"):
            c.start_node(name)
        twin.start()
        time.sleep(4)
        puts = [c.put(f"k{i}", b"v", query="?w=3") for i in range(3)]
        checks(f"{spelling}: puts at w=3", set(puts) == {200}, puts)
        c.kill("n4")
        twin.kill("n4")
        time.sleep(15)
        token = admin_authorization(conf["secret"].encode(), "vdynamo", node="n4",
                                    member="n1", address=f"127.0.0.1:{c.peer['n1']}",
                                    stamp=int(time.time()))
        taken = admin(c, "n4", token)
        replay = admin(twin, "n4", token)
        print(f"n1's own file {spelling}: the operator's token {taken}; "
              f"replayed to the twin's n1 {replay}")
        checks(f"{spelling}: n1 took the operator's token", taken[0] == 200, taken)
        checks(f"{spelling}: the twin's n1 refused it", replay[0] == 401, replay)
    finally:
        for cluster in (c, twin):
            cluster.stop()
            shutil.rmtree(cluster.dir, ignore_errors=True)


def conf_with_secret(text: str, secret: str) -> str:
    """A cluster file's text with its ``secret`` line set to ``secret`` (the twin is
    made from a copy of the file: one secret, one name)."""
    return "\n".join(f'secret = "{secret}"' if line.startswith("secret =") else line
                     for line in text.splitlines())


def main() -> None:
    checks = Checks()
    for spelling in ("localhost", "0.0.0.0"):
        one(spelling, checks)
    checks.finish()


if __name__ == "__main__":
    main()
