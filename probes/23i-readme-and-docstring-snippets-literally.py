"""A new user follows the README and the library's docstring *literally*: the
command block (cluster up, put / get / delete, per-request quorums, a value from a
file and from standard input, stop / start a node, status, join / leave, down) and
the Python snippets (``vdynamo.check``, ``SimulatedCluster``, ``vdynamo.connect``
with the address `cluster up` printed, ``resolve=union``, ``connect_async`` and its
delete), checking each documented output. 23a-23g try options at their edges; nobody
ran the documented examples as written.

`vdynamo cluster up --nodes 3 --dir D` (the README says 5; 3 here for the machine's
sake) in a temporary directory. Right value (each the README's or the docstring's):

- ``vdynamo check`` of lww-two-clients: ``acked_writes_durable violated`` first;
- the SimulatedCluster snippet runs to its end and ``get(b"cart")`` reads
  ``[b"milk,eggs"]`` (one copy survives the crash, partition, restart and wipe);
- `put cart milk --dir D` exit 0 and prints ``context: ...``; `get cart` prints
  ``milk`` then ``context: ...``, exit 0; `delete cart` exit 0; `get cart` then exit 1,
  ``(no value)`` on stderr; `put ... --w 2 --pw 2`, `get ... --r 2 --pr 2` exit 0;
  `put blob --value-file big.bin` (200 KB: over argv's 128 KiB) and a value from a
  pipe with VALUE left out read back exactly (`get --json`);
- `cluster stop n2` / `cluster start n2` / `cluster status` exit 0; `join n4` then
  `leave n4` exit 0; `cluster down` exit 0;
- the library with the URL `cluster up` printed (``http://127.0.0.1:PORT``): the
  README's connect snippet, ``resolve=union`` merging two blind siblings into one
  value, and ``connect_async``'s put / get / delete (a get after it: no value).

Seen (session 59): PASS.

Run from the project's root: .venv/bin/python probes/23i-readme-and-docstring-snippets-literally.py
"""
from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import Checks, vdynamo_command  # noqa: E402

import vdynamo  # noqa: E402

VD = vdynamo_command()
check = Checks()


def vd(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*VD, *args], input=stdin, capture_output=True, timeout=180,
                          check=False)


# -- the README's library snippets that need no cluster -------------------------------
result = vdynamo.check(vdynamo.load_config("model_check/configs/lww-two-clients.toml"))
first = result.results[0]
check("check(lww-two-clients): acked_writes_durable violated first",
      (first.property, first.verdict) == ("acked_writes_durable", "violated"),
      (first.property, first.verdict))
cluster = vdynamo.SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=7)
client = cluster.client()
got = client.get(b"cart")
client.put(b"cart", b"milk,eggs", context=got.context)
cluster.crash("n2"); cluster.partition({"n1"}, {"n3", "n4"}); cluster.heal()  # noqa: E702
cluster.restart("n2"); cluster.run_until_quiet()  # noqa: E702
cluster.wipe("n3")
check("SimulatedCluster snippet: cart reads [milk,eggs]",
      client.get(b"cart").values == [b"milk,eggs"], client.get(b"cart").values)

root = Path(tempfile.mkdtemp(prefix="vdynamo-23i-"))
D = str(root / "D")
try:
    up = vd("cluster", "up", "--nodes", "3", "--dir", D)
    check("cluster up: exit 0", up.returncode == 0, up.stderr[-200:])
    printed = [line.split()[1] for line in up.stdout.decode().splitlines()
               if line.startswith("n1 ")]
    put = vd("put", "cart", "milk", "--dir", D)
    check("put cart milk: exit 0, context printed",
          put.returncode == 0 and put.stdout.startswith(b"context: "), put)
    get = vd("get", "cart", "--dir", D)
    check("get cart: milk then context", get.returncode == 0
          and get.stdout.splitlines()[0] == b"milk"
          and get.stdout.splitlines()[1].startswith(b"context: "), get.stdout)
    delete = vd("delete", "cart", "--dir", D)
    check("delete cart: exit 0", delete.returncode == 0, delete.stderr)
    gone = vd("get", "cart", "--dir", D)
    check("get after delete: exit 1, (no value)", gone.returncode == 1
          and b"(no value)" in gone.stderr, (gone.returncode, gone.stderr))
    quorum = vd("put", "cart", "milk", "--w", "2", "--pw", "2", "--dir", D)
    check("put --w 2 --pw 2: exit 0", quorum.returncode == 0, quorum.stderr)
    read = vd("get", "cart", "--r", "2", "--pr", "2", "--dir", D)
    check("get --r 2 --pr 2: milk", read.stdout.startswith(b"milk\n"), read)
    big = os.urandom(200_000)
    (root / "big.bin").write_bytes(big)
    blob = vd("put", "blob", "--value-file", str(root / "big.bin"), "--dir", D)
    check("put blob --value-file big.bin: exit 0", blob.returncode == 0, blob.stderr)
    back = vd("get", "blob", "--json", "--dir", D)
    values = json.loads(back.stdout or b"{}").get("values", [])
    check("get blob --json: the file's bytes", [base64.b64decode(v) for v in values] == [big],
          back.stderr)
    piped = vd("put", "note", "--dir", D, stdin=b"from a pipe\n")
    check("put note (VALUE from stdin): exit 0", piped.returncode == 0, piped.stderr)
    back = vd("get", "note", "--json", "--dir", D)
    values = json.loads(back.stdout or b"{}").get("values", [])
    check("get note: the piped bytes", [base64.b64decode(v) for v in values]
          == [b"from a pipe\n"], back.stdout)
    for args in (["cluster", "stop", "n2"], ["cluster", "start", "n2"],
                 ["cluster", "status"], ["join", "n4"], ["leave", "n4"]):
        done = vd(*args, "--dir", D)
        check(f"vdynamo {' '.join(args)}: exit 0", done.returncode == 0,
              (done.returncode, done.stderr[-300:]))
    # -- the library with the URL `cluster up` printed ---------------------------------
    check("cluster up printed n1's URL", bool(printed), up.stdout[-200:])
    url = printed[0] if printed else "http://127.0.0.1:1"
    with vdynamo.connect([url]) as db:
        got = db.get("cart")
        db.put("cart", b"milk", context=got.context)
        check("README connect: get r=2 pr=2 reads [milk]",
              db.get("cart", r=2, pr=2).values == [b"milk"], db.get("cart").values)
        db.put("cart", b"eggs", w=2, pw=2)
        check("README connect: a blind put of eggs is a sibling",
              sorted(db.get("cart").values) == [b"eggs", b"milk"], db.get("cart").values)

    def union(values: list[bytes]) -> bytes:  # the docstring's shopping cart's merge
        return b",".join(sorted({i for v in values for i in v.split(b",") if i}))

    with vdynamo.connect([url], resolve=union) as db:
        got = db.get("cart")
        check("resolve=union: one merged value", got.values == [b"eggs,milk"]
              and got.value == b"eggs,milk", got.values)
        db.put("cart", (got.value or b"") + b",milk", context=got.context)
        check("after the docstring's put: one value", len(db.get("cart").values) == 1,
              db.get("cart").values)

    async def docstring_async() -> list[bytes]:
        async with vdynamo.connect_async([url]) as db:
            await db.put("cart2", b"milk")
            got = await db.get("cart2")
            await db.delete("cart2", context=got.context)
            return (await db.get("cart2")).values

    check("connect_async snippet: no value after the delete",
          asyncio.run(docstring_async()) == [], "")
    down = vd("cluster", "down", "--dir", D)
    check("cluster down: exit 0", down.returncode == 0, down.stderr)
finally:
    vd("cluster", "down", "--dir", D)
    shutil.rmtree(root, ignore_errors=True)
check.finish()
