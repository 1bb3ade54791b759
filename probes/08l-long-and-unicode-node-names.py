"""Cluster files whose node names are long or not ASCII, within what the file accepts
(a name: 1-255 printable characters, no spaces): an operator who names nodes by
their fully qualified host names plus a rack and a data-centre label, or in their
own script (`节点1`, `nœud-1`), or a generator that pastes a UUID chain. Riak's node
names are `name@host` atoms of up to 255 characters; Cassandra's host ids are UUIDs.
08g tries cluster files wrong in their structure, 22h numbers at their edges, 23f the
CLI's `join` names; nobody served a file whose names are at the limit.

One `vdynamo serve FILE --all` process per file, 3 nodes, N=3 R=2 W=2. Right value:

1. names of 250 ASCII characters with no `data` key (the default data file is
   `<name>.sqlite`, over the file system's 255 bytes): exit 2 at once, one line
   `vdynamo serve: [nodes.NAME] data: ...` naming what to give (never a traceback);
2. names of 239 ASCII characters, client-vclock (the default data file fits): a PUT
   and a DELETE with no X-Vdynamo-Client (curl's) are taken (200), a GET at r=3
   answers the two anonymous writes as siblings, then nothing;
3. names of 80 CJK characters, of 250 emoji (4-byte UTF-8; `data` given) and with
   combining marks, in dvv, client-vclock and server-vclock: raw HTTP put, get,
   read-modify-write with the context, delete; the library's put / get / delete;
   `/status` and `/metrics` answer 200.

Found (session 60): 1 died with `OSError: [Errno 36] File name too long` (exit 1, a
traceback); 2 answered 400 "PutRequest.client_id: must be at most 255 printable
characters" for every anonymous PUT and DELETE. Fixed: impl/runtime_config.py
`check_distinct_data`, impl/http_api.py `anonymous_prefix`
(tests/runtime/test_long_node_names.py).

Run from the project's root: .venv/bin/python probes/08l-long-and-unicode-node-names.py
"""
import json
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import Checks, free_port, vdynamo_command

import vdynamo

check = Checks()


def write(directory: Path, names: list[str], clock: str, data: bool) -> dict[str, int]:
    http = {name: free_port() for name in names}
    lines = ["[cluster]", f"nodes = {json.dumps(names, ensure_ascii=False)}", "n = 3",
             "r = 2", "w = 2", f'secret = "{secrets.token_hex(24)}"', f'clock = "{clock}"', ""]
    for i, name in enumerate(names):
        lines += [f"[nodes.{json.dumps(name, ensure_ascii=False)}]",
                  *([f'data = "d{i}.sqlite"'] if data else []),
                  f'peer = "127.0.0.1:{free_port()}"', f'http = "127.0.0.1:{http[name]}"', ""]
    (directory / "cluster.toml").write_text("\n".join(lines), encoding="utf-8")
    (directory / "cluster.toml").chmod(0o600)
    return http


def call(port: int, method: str, path: str, body: bytes | None = None,
         headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method=method,
                                 headers={"Content-Type": "text/plain", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=15) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def serve(directory: Path) -> subprocess.Popen[bytes]:
    log = open(directory / "all.log", "ab")  # noqa: SIM115 (the process keeps it)
    return subprocess.Popen([*vdynamo_command(), "serve", str(directory / "cluster.toml"),
                             "--all"], cwd=directory, stdout=log, stderr=log)


def ready(proc: subprocess.Popen[bytes], port: int) -> bool:
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/ready", timeout=1):
                return True
        except OSError:
            time.sleep(0.3)
    return False


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


# 1: the default data file's name over 255 bytes
with tempfile.TemporaryDirectory() as tmp:
    d = Path(tmp)
    write(d, ["a" * 249 + str(i) for i in range(1, 4)], "dvv", data=False)
    done = subprocess.run([*vdynamo_command(), "serve", str(d / "cluster.toml"), "--all"],
                          capture_output=True, text=True, timeout=60)
    err = done.stderr.strip().splitlines()
    last = err[-1] if err else ""
    check("250-character names, default data files: exit 2, one line naming the data key",
          done.returncode == 2 and "Traceback" not in done.stderr
          and last.startswith("vdynamo serve: [nodes.") and "] data: " in last,
          (done.returncode, done.stderr[-400:]))

# 2: anonymous client-vclock writes through long-named nodes
with tempfile.TemporaryDirectory() as tmp:
    d = Path(tmp)
    names = ["b" * 238 + str(i) for i in range(1, 4)]
    http = write(d, names, "client-vclock", data=False)
    proc = serve(d)
    try:
        if check("239-character names serve", ready(proc, http[names[0]]),
                 (d / "all.log").read_text()[-300:]):
            one, two = (call(http[names[i]], "PUT", "/kv/k", f"v{i}".encode())
                        for i in (0, 1))
            check("anonymous PUTs through long-named nodes 200", (one[0], two[0]) == (200, 200),
                  (one[0], one[2][:160], two[0], two[2][:160]))
            got = call(http[names[2]], "GET", "/kv/k?r=3", headers={"Accept": "application/json"})
            check("both anonymous writes are siblings at r=3", got[0] == 300, got[2][:200])
            gone = call(http[names[1]], "DELETE", "/kv/k")
            check("an anonymous DELETE 200", gone[0] == 200, gone[2][:200])
            check("then nothing at r=3", call(http[names[0]], "GET", "/kv/k?r=3")[0] == 404)
    finally:
        stop(proc)

# 3: names not ASCII, each clock mode, raw HTTP and the library
SETS = {"cjk": ["节点" * 39 + f"{i}号" for i in range(1, 4)],
        "emoji": ["\U0001F600" * 249 + str(i) for i in range(1, 4)],
        "combining": [f"nœud-e\u0301\u0308-{i}" for i in range(1, 4)]}
for label, names in SETS.items():
    for clock in ("dvv", "client-vclock", "server-vclock"):
        with tempfile.TemporaryDirectory() as tmp:
            d = Path(tmp)
            http = write(d, names, clock, data=label == "emoji")
            proc = serve(d)
            what = f"{label} {clock}"
            try:
                if not check(f"{what}: serves", ready(proc, http[names[0]]),
                             (d / "all.log").read_text(errors="replace")[-300:]):
                    continue
                ports = [http[n] for n in names]
                steps = [call(ports[0], "PUT", "/kv/k", b"v1")[0]]
                got = call(ports[1], "GET", "/kv/k?r=3", headers={"Accept": "application/json"})
                context = json.loads(got[2]).get("context", "") if got[0] == 200 else ""
                steps.append(got[0])
                steps.append(call(ports[2], "PUT", "/kv/k", b"v2",
                                  {"X-Vdynamo-Context": context})[0])
                steps.append(call(ports[0], "DELETE", "/kv/k")[0])
                steps.append(call(ports[1], "GET", "/kv/k?r=3")[0])
                check(f"{what}: raw put, get, put with context, delete, get",
                      steps == [200, 200, 200, 200, 404], steps)
                with vdynamo.connect([f"127.0.0.1:{p}" for p in ports]) as db:
                    db.put("lib", b"x1")
                    first = db.get("lib")
                    db.put("lib", b"x2", context=first.context)
                    second = db.get("lib", r=3)
                    db.delete("lib", context=second.context)
                    check(f"{what}: the library's put, get, put, delete",
                          second.values == [b"x2"] and db.get("lib", r=3).values == [],
                          (second.values,))
                for path in ("/status", "/metrics"):
                    status = call(ports[2], "GET", path)[0]
                    check(f"{what}: {path} 200", status == 200, status)
            except Exception as err:  # a refusal the probe did not expect: reported
                check(f"{what}: no error", False, f"{type(err).__name__}: {err}"[:300])
            finally:
                stop(proc)
check.finish()
