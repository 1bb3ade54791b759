"""A second process claims a running member's name, with the cluster's secret: an
operator copies cluster.toml to another machine and starts `--node n3` there too
(other addresses, an empty store), or an attacker holding the secret frames under
another node's name (the brief's "a frame claiming another node's name").
The public case 20 and 20a-20c have no secret; this one has it.

Real processes (`vdynamo serve --node NAME`, one per node), 3 nodes, N=3 R=2 W=2.
20 keys written at w=3. The impostor `n3` (a copy of cluster.toml whose n3 entry
names fresh ports, in its own directory) runs 12 s; a writer puts 20 more keys at
w=2 through n1 and n2 meanwhile, and the probe asks the impostor for the first
keys at r=2. Then the impostor is killed, and n1 and n2 are stopped: the real n3,
alone, is read at r=1.

Right value: the real n3 still holds every key written at w=3 (its /status counts
them, and each reads back at r=1 through it with n1 and n2 stopped); every put
during the impostor's run was acknowledged; the impostor never answers a written
key 404 or another value at r=2 (a 503, a refusal, or the right value are fine).

Run from the project's root: .venv/bin/python probes/20d-second-process-claims-a-members-name.py
"""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import LocalNodes, free_port, vdynamo_command

problems: list[str] = []


def status(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/status", timeout=5) as r:
        return json.loads(r.read())


def get(port: int, key: str, r: int) -> tuple[int, bytes]:
    req = urllib.request.Request(f"http://127.0.0.1:{port}/kv/{key}?r={r}",
                                 headers={"Accept": "*/*"})
    try:
        with urllib.request.urlopen(req, timeout=15) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()
    except OSError as err:
        return -1, str(err).encode()


with LocalNodes(nodes=3, per_process=True) as c:
    for i in range(20):
        assert c.put(f"k{i}", f"v{i}".encode(), query="?w=3") == 200
    other = Path(tempfile.mkdtemp(prefix="vdynamo-impostor-"))
    text = c.config.read_text()
    ipeer, ihttp = free_port(), free_port()
    text = re.sub(r'(\[nodes\.n3\]\npeer = ")[^"]*("\nhttp = ")[^"]*"',
                  rf'\g<1>127.0.0.1:{ipeer}\g<2>127.0.0.1:{ihttp}"', text)
    assert f"127.0.0.1:{ihttp}" in text
    (other / "cluster.toml").write_text(text)
    log = open(other / "impostor.log", "wb")  # noqa: SIM115 (closed in the finally)
    impostor = subprocess.Popen([*vdynamo_command(), "serve", str(other / "cluster.toml"),
                                 "--node", "n3"], cwd=other, stdout=log, stderr=log)
    try:
        deadline = time.time() + 12
        i = 20
        answers: dict[str, int] = {}
        while time.time() < deadline:
            node = "n1" if i % 2 else "n2"
            code = c.put(f"k{i}", f"v{i}".encode(), node=node)
            answers[f"k{i}"] = code
            if code != 200:
                problems.append(f"put k{i} through {node} during the impostor's run: {code}")
            for j in (i % 20, (i + 7) % 20):
                code, body = get(ihttp, f"k{j}", 2)
                if code == 404 or (code == 200 and body != f"v{j}".encode()):
                    problems.append(f"the impostor answered k{j} at r=2: {code} {body[:60]!r}")
            i += 1
            time.sleep(0.3)
        print(f"{i - 20} puts during the impostor's run, "
              f"{sum(1 for v in answers.values() if v == 200)} acknowledged", flush=True)
        try:
            print("impostor's /status members:", status(ihttp).get("members"), flush=True)
        except OSError as err:
            print("impostor's /status:", err)
    finally:
        if impostor.poll() is None:
            os.kill(impostor.pid, signal.SIGKILL)
        impostor.wait(10)
        log.close()
    print("impostor's log (last lines):",
          *(other / "impostor.log").read_text(errors="replace").splitlines()[-4:],
          sep="\n  ", flush=True)
    for name in ("n1", "n2"):
        logtext = (c.dir / f"{name}.log").read_text(errors="replace")
        refusals = [ln for ln in logtext.splitlines() if "n3" in ln and
                    ("refus" in ln or "start" in ln)]
        print(f"{name}'s log: {len(refusals)} lines naming n3 and a refusal/start; "
              f"{refusals[-1][:200] if refusals else ''}", flush=True)
    time.sleep(2)
    held = status(c.http["n3"]).get("keys")
    print("real n3 /status keys:", held, flush=True)
    c.kill("n1")
    c.kill("n2")
    lost = []
    for j in range(20):
        code, body = get(c.http["n3"], f"k{j}", 1)
        if code != 200 or body != f"v{j}".encode():
            lost.append((f"k{j}", code, body[:40]))
    print(f"real n3 alone at r=1: {20 - len(lost)}/20 of the w=3 keys", flush=True)
    if lost:
        problems.append(f"the real n3 alone lost w=3 keys: {lost[:5]}")
    if not isinstance(held, int) or held < 20:
        problems.append(f"the real n3 holds {held} keys, fewer than the 20 written at w=3")
    subprocess.run(["rm", "-rf", str(other)], check=False)

if problems:
    print("FAIL:", *problems[:20], sep="\n  ")
    sys.exit(1)
print("PASS")
