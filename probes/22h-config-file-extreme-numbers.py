"""Cluster files with numbers at the edges TOML allows (an operator's typo, a value
pasted in the wrong unit, a config generator that writes 1e308 for "forever"):
every [cluster] number of seconds at 1e308, 5e-324, nan and -inf and as a
string; integers at 2**63 and -1 and as a float; and, on a live cluster, the
extremes a file does accept (tombstone_grace_s, vclock_young_s/old_s and
lww_floor_margin_s have no ceiling, and no floor above 0: 1e308 is "never reap",
"never truncate"; 5e-324 is taken as "at once", by design).

Each file is given to `vdynamo serve FILE --all` (one process, so port 0 is taken).
Right value: a file outside the bounds exits 2 at once with one line
`vdynamo serve: ...` naming the key (never a Python traceback, never serving);
the accepted extremes serve puts, reads at r=3, deletes and re-puts with no
traceback in the log.

Found (session 56): `request_timeout = 1e308` made `vdynamo serve` die with an
OverflowError traceback (the derived record limit multiplied it by 4 MiB/s into an
infinite float and int() raised before the file's bound was checked; 1e300 and
1e20 already got "over the ceiling of 300"). Fixed: impl.config.record_bytes_in
caps the product; tests/runtime/test_config_file_bounds.py pins the 1e308 case.

Run from the project's root: .venv/bin/python probes/22h-config-file-extreme-numbers.py
"""
import subprocess
import sys
import tempfile
from pathlib import Path

from _cluster import LocalNodes, cluster_file, vdynamo_command

SECONDS = ["request_timeout", "replica_timeout", "suspicion_timeout", "gossip_interval",
           "hint_scan_interval", "anti_entropy_interval", "flush_interval", "phi_threshold",
           "http_header_timeout_s", "http_idle_timeout_s", "peer_hello_timeout_s",
           "reach_grace_s", "shadow_round_s", "tombstone_grace_s", "vclock_young_s",
           "vclock_old_s", "lww_floor_margin_s"]
INTS = ["n", "r", "w", "max_value_bytes", "max_key_bytes", "max_siblings", "max_record_bytes",
        "tokens_per_node", "partitions", "max_pending_requests", "max_http_connections",
        "max_peer_connections", "vclock_threshold", "vclock_max_pairs", "max_frame_bytes"]
#: accepted on purpose (no ceiling): checked on a live cluster instead
OPEN_ENDED = {"tombstone_grace_s", "vclock_young_s", "vclock_old_s", "lww_floor_margin_s"}
bad: list[str] = []


def check(what: str, ok: bool, seen: object = "") -> None:
    if not ok:
        print(f"FAIL {what}: {str(seen)[:300]}")
        bad.append(what)


def setting_file(directory: Path, setting: str) -> Path:
    return cluster_file(directory, ["n1", "n2", "n3"], setting)


def refused(setting: str) -> None:
    with tempfile.TemporaryDirectory(prefix="vdynamo-probe-") as directory:
        path = setting_file(Path(directory), setting)
        proc = subprocess.Popen([*vdynamo_command(), "serve", str(path), "--all"],
                                cwd=directory, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            out, _ = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.terminate()
            out, _ = proc.communicate(timeout=10)
            check(f"{setting}: refused at once", False, "still serving after 20 s")
            return
        text = out.decode(errors="replace").strip()
        last = text.splitlines()[-1] if text else ""
        check(f"{setting}: exit 2", proc.returncode == 2, (proc.returncode, last))
        check(f"{setting}: no traceback", "Traceback" not in text, last)
        key = setting.split(" =")[0]
        check(f"{setting}: one line naming {key}", last.startswith("vdynamo serve: ")
              and key in last, last)


settings = [f"{key} = {value}" for key in SECONDS
            for value in ("1e308", "5e-324", "nan", "-inf", '"1"')
            if not (key in OPEN_ENDED and value in ("1e308", "5e-324"))]
settings += [f"{key} = {value}" for key in INTS
             for value in ("9223372036854775808", "-1", "2.0")]
for setting in settings:
    refused(setting)
print(f"{len(settings)} malformed files: {len(bad)} not refused cleanly")

for extra in ("tombstone_grace_s = 1e308\nvclock_young_s = 1e308\nvclock_old_s = 1e308",
              'clock = "lww"\nlww_floor_margin_s = 1e308\ntombstone_grace_s = 1e308'):
    with LocalNodes(nodes=3, extra_cluster=extra) as cluster:
        for i in range(4):
            key = f"k{i}"
            check(f"{extra!r}: put {key}", cluster.put(key, b"v") == 200)
            values, context = cluster.read(key, query="?r=3")
            check(f"{extra!r}: read {key}", values == [b"v"], values)
            status = cluster.request("DELETE", key, headers={"X-Vdynamo-Context": context or ""})[0]
            check(f"{extra!r}: delete {key}", status in (200, 204), status)
            check(f"{extra!r}: deleted {key}", cluster.values(key, query="?r=3") == [])
            check(f"{extra!r}: re-put {key}", cluster.put(key, b"w", node="n2") == 200)
            check(f"{extra!r}: re-read {key}", cluster.values(key, query="?r=3") == [b"w"])
        cluster.stop()
        log = (cluster.dir / "all.log").read_text(errors="replace")
        check(f"{extra!r}: no traceback in the log", "Traceback" not in log, log[-500:])
    print(f"live {extra.splitlines()[0]} ...: done")

if bad:
    print(f"FAIL: {len(bad)} checks failed")
    sys.exit(1)
print("PASS")
