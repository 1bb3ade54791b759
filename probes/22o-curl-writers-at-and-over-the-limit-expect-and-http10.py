"""curl as many users drive the API: 12 curl processes at once PUT one key,
``--data-binary @file`` of exactly ``max_value_bytes`` (the default, 1 MiB) or
one byte over it, half with ``Expect: 100-continue`` (curl's own habit for large
bodies) and a third as HTTP/1.0 (no Expect, no chunking, the connection closed
after the answer). 22l sends the limits one at a time through HTTP, CLI and
library; 08j sends Expect and HTTP/1.0 by hand; here curl's own framing, many
at once, on one key.

Real processes (`vdynamo serve --all`), 3 nodes, N=3 R=2 W=2, dvv, the default
limits; 2 rounds of 12 curls (at the limit: 6; over it: 6), curl t on node t mod 3.

Right value: a put over the limit is 413 with a JSON body naming max_value_bytes,
and with Expect: 100-continue the node says so before the body (curl uploads
less than the value); a put at the limit is 200, or a 413 naming
max_record_bytes or max_siblings (the key's record is full), or a JSON 503/504;
never a dropped connection (curl's exit 0); every acknowledged value reads back
at r=3.

Run from the project's root: .venv/bin/python probes/22o-curl-writers-at-and-over-the-limit-expect-and-http10.py
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import Checks, LocalNodes  # noqa: E402

LIMIT = 1 << 20
check = Checks()
if not shutil.which("curl"):
    raise SystemExit("curl is not installed")

with LocalNodes(nodes=3) as c:
    acked: set[bytes] = set()
    seen: list[str] = []
    for round_ in range(2):
        runs = []
        for t in range(12):
            size = LIMIT + (t % 2)
            value = os.urandom(size)
            path = c.dir / f"v{round_}-{t}"
            path.write_bytes(value)
            out = c.dir / f"o{round_}-{t}"
            args = ["curl", "-sS", "-X", "PUT", "--data-binary", f"@{path}", "-o", str(out),
                    "-w", "%{http_code} %{size_upload} %{content_type}",
                    "-H", "Content-Type: application/octet-stream", "--max-time", "60"]
            if t % 3 == 2:
                args.append("--http1.0")
            elif t % 4 < 2:
                args += ["-H", "Expect: 100-continue"]
            else:
                args += ["-H", "Expect:"]
            args.append(c.url("hot", c.names[t % 3]))
            runs.append((t, size, value, out, args, subprocess.Popen(
                args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)))
        for t, size, value, out, args, proc in runs:
            stdout, stderr = proc.communicate(timeout=120)
            code, uploaded, ctype = (stdout.decode().split(" ", 2) + ["", "", ""])[:3]
            body = out.read_bytes() if out.exists() else b""
            how = "1.0" if "--http1.0" in args else ("expect" if "Expect: 100-continue" in args
                                                      else "no-expect")
            seen.append(f"{size - LIMIT}/{how}: {code} up {uploaded}")
            what = f"round {round_} curl {t} ({size} bytes, {how})"
            check(f"{what}: curl exit 0", proc.returncode == 0,
                  (proc.returncode, stderr[:200]))
            limit = ""
            if ctype.startswith("application/json") and body:
                try:
                    limit = json.loads(body).get("limit", "")
                except ValueError:
                    limit = "unparsed"
            if size > LIMIT:
                check(f"{what}: 413 naming max_value_bytes", code == "413"
                      and limit == "max_value_bytes", (code, ctype, body[:150]))
                if how == "expect":
                    check(f"{what}: refused before the body", int(uploaded or 0) < size,
                          uploaded)
            elif code == "200":
                acked.add(value)
            else:
                check(f"{what}: a 413 naming the record's limit or a JSON 503/504",
                      (code == "413" and limit in ("max_record_bytes", "max_siblings"))
                      or (code in ("503", "504") and ctype.startswith("application/json")),
                      (code, ctype, body[:150]))
    values = c.values("hot", query="?r=3")
    print(f"answers: {seen}")
    print(f"acked {len(acked)}; read {len(values)} values")
    check("every acknowledged value reads back", acked <= set(values),
          f"{len(acked - set(values))} of {len(acked)} missing")
check.finish()
