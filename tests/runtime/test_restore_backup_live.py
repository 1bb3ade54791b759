"""A node's data file restored from a backup taken before acknowledged writes went
through it, on real ``vdynamo serve`` processes (session 32's operator probe;
docs/runtime.md, "Operator probe (session 32)"; the restore guard,
:mod:`impl.restore_guard`, was tested in the simulator and in-process only).

Three nodes, N = 3, R = W = 2 (request_timeout 0.5 s). 10 keys written at W = 3 (value
``a``); n1 stopped (SIGTERM) and its SQLite file copied (the backup, as
docs/runtime.md "Back up" says); n1 started again; n3 killed; every key rewritten
through n1 with its read's context (``b``, acknowledged by n1 and n2: n3 is down and
there is no fallback); n1 killed and its file replaced by the backup; n3 started, n2
killed, n1 started. n1 and n3 now both hold ``a`` alone. Right value: no get through
n1 or n3 at R = 2 answers ``a`` (an acknowledged write read stale: ``b`` lost from
every node up); with the guard n1 sets its store aside at its shadow round (its peer
n3 heard of its later start) and answers nothing of a range it has not rebuilt (its
rebuild waits for n2), so the gets fail 503. Once n2 is back every key reads ``b`` at
R = 2 through n1 and a blind put through n1 is kept beside it (a new actor: no dot of
the lost start reissued). Loopback only, bounded (about 25 s), every process killed at
the end (``ServedNodes``)."""

from __future__ import annotations

import base64
import json
import shutil
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.runtime.procs import FAST_ROUNDS, ServedNodes, http_call

NAMES = ("n1", "n2", "n3")
KEYS = [f"k{i}" for i in range(10)]


def _get(nodes: ServedNodes, at: str, key: str, r: int = 2) -> tuple[int, list[bytes], str]:
    status, _, body = http_call("GET", f"http://127.0.0.1:{nodes.http[at]}/kv/{key}?r={r}",
                                headers={"Accept": "application/json"})
    if status not in (200, 300, 404):
        return status, [], ""
    answer = json.loads(body)
    return status, [base64.b64decode(v) for v in answer["values"]], answer["context"]


def _put(nodes: ServedNodes, at: str, key: str, value: bytes, context: str = "",
         w: int = 2) -> int:
    headers = {"X-Vdynamo-Context": context} if context else {}
    return http_call("PUT", f"http://127.0.0.1:{nodes.http[at]}/kv/{key}?w={w}", value,
                     headers)[0]


def _stats(nodes: ServedNodes, at: str) -> dict[str, int]:
    with urllib.request.urlopen(f"http://127.0.0.1:{nodes.http[at]}/status",
                                timeout=5) as answer:
        stats: dict[str, int] = json.loads(answer.read())["stats"]
    return stats


def _stop(nodes: ServedNodes, name: str) -> None:
    """SIGTERM ``name`` (a graceful stop) and reap it."""
    process = nodes.procs.pop(name)
    process.terminate()
    process.wait(20)


def test_a_backup_restored_after_writes_through_the_node_never_reads_them_stale(
        tmp_path: Path) -> None:
    with ServedNodes(tmp_path, NAMES, [*FAST_ROUNDS, "suspicion_timeout = 1.0",
                                          "request_timeout = 0.5"]) as nodes:
        nodes.start(*NAMES)
        nodes.wait_ready(*NAMES)
        for key in KEYS:
            assert _put(nodes, "n1", key, f"{key}-a".encode(), w=3) == 200
        _stop(nodes, "n1")
        backup = tmp_path / "backup"
        backup.mkdir()
        data = [p for p in tmp_path.glob("n1.sqlite*") if p.suffix != ".lock"]
        for path in data:
            shutil.copy2(path, backup / path.name)
        nodes.start("n1")
        nodes.wait_ready("n1")
        nodes.kill("n3")
        for key in KEYS:
            status, values, context = _get(nodes, "n1", key)
            assert (status, values) == (200, [f"{key}-a".encode()])
            assert _put(nodes, "n1", key, f"{key}-b".encode(), context) == 200
        nodes.kill("n1")
        for path in tmp_path.glob("n1.sqlite*"):
            if path.suffix != ".lock":
                path.unlink()
        for path in backup.iterdir():
            shutil.copy2(path, tmp_path / path.name)
        nodes.start("n3")
        nodes.kill("n2")
        nodes.start("n1")
        # the 20 reads at once (session 38): each may wait out n1's and n3's 0.5 s
        # request timeout (n2 down), 10 s one after the other
        asked = [(at, key) for at in ("n1", "n3") for key in KEYS]
        with ThreadPoolExecutor(len(asked)) as pool:
            answers = list(pool.map(lambda pair: _get(nodes, *pair), asked))
        stale = [(at, key) for (at, key), answer in zip(asked, answers, strict=True)
                 if f"{key}-a".encode() in answer[1]]
        assert stale == []
        assert _stats(nodes, "n1").get("restore-set-aside") == 1
        nodes.start("n2")
        nodes.wait_ready("n2")
        nodes.wait_rebuilt("n1")
        assert [key for key in KEYS if _get(nodes, "n1", key)[1] != [f"{key}-b".encode()]] == []
        for key in KEYS[:5]:
            assert _put(nodes, "n1", key, f"{key}-c".encode()) == 200  # blind: a sibling
        kept = [sorted(_get(nodes, "n2", key, r=3)[1]) for key in KEYS[:5]]
        assert kept == [[f"{key}-b".encode(), f"{key}-c".encode()] for key in KEYS[:5]]
