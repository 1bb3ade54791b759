"""The CLI and the library on a machine whose shell names a proxy or a CA bundle
(a corporate laptop's ``http_proxy`` / ``ALL_PROXY``, a conda environment's
``SSL_CERT_FILE``): the README's first steps typed there. curl and Python's urllib
take those variables from the environment; Go's net/http (etcdctl) never proxies
loopback. 23a-23g give the commands odd *arguments*; none sets the environment.

`vdynamo cluster up --nodes 3` in a temporary directory, with ``http_proxy`` (and
``ALL_PROXY``) naming a port where nothing listens (a proxy that cannot be reached,
or cannot reach this host's loopback). Right value:

1. `cluster up` exits 0 (every node ready), `cluster status` 0 naming each `ready`,
   `put cart milk --dir D` 0 and `get cart --dir D` prints `milk`, `cluster down` 0:
   the local cluster's own nodes are asked directly.
2. Then, for an environment httpx cannot make a client from (``ALL_PROXY=socks5://``
   without the socksio package, ``http_proxy=ftp://``, a proxy's port 99999,
   ``SSL_CERT_FILE`` naming no file): `vdynamo get cart --node ADDR` exits 1 with one
   line on stderr naming the variable, never a traceback; the library's blocking and
   asyncio `get` raise a DynamoError subclass (never a bare ImportError, ValueError,
   FileNotFoundError or ExceptionGroup).

Found (session 59, red team 10): step 1's `cluster up` said "n1 not ready within
30 s" and stopped its nodes (exit 1), `cluster status` called running nodes hung, and
`put --dir` failed "no node could serve it" (urllib and httpx sent loopback requests
to the proxy); step 2 printed a traceback (ImportError, FileNotFoundError) and the
library raised the bare errors. Fixed in vdynamo/cluster_cli.py (``_DIRECT``),
vdynamo/kv_cli.py (``_asked_directly``) and impl/http_client.py
(``_made_from_environment``); tests/vdynamo/test_cluster_cli_no_proxy.py,
tests/vdynamo/test_client_environment.py.

Run from the project's root: .venv/bin/python probes/23h-proxy-and-certificate-environment.py
"""
from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import Checks, free_port, vdynamo_command  # noqa: E402

VD = vdynamo_command()
LIBRARY = """
import asyncio, sys, vdynamo
from impl.errors import DynamoError
node = sys.argv[1]
for kind in ("sync", "async"):
    try:
        if kind == "sync":
            with vdynamo.connect([node], timeout_s=2, deadline_s=5) as db:
                db.get("cart")
        else:
            async def run():
                async with vdynamo.connect_async([node], timeout_s=2, deadline_s=5) as db:
                    await db.get("cart")
            asyncio.run(run())
        print(kind, "no error")
    except DynamoError as error:
        print(kind, "DynamoError", type(error).__name__)
    except BaseException as error:
        print(kind, "BARE", type(error).__name__, str(error)[:100])
"""


def clean_environment() -> dict[str, str]:
    names = ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "ssl_cert_file",
             "ssl_cert_dir")
    return {k: v for k, v in os.environ.items() if k.lower() not in names}


def run(args: list[str], env: dict[str, str], timeout: float = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout,
                          check=False)


def main() -> None:
    check = Checks()
    root = Path(tempfile.mkdtemp(prefix="vdynamo-23h-"))
    directory = root / "c"
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    proxied = {**clean_environment(), "http_proxy": dead, "ALL_PROXY": dead}
    try:
        began = time.monotonic()
        up = run([*VD, "cluster", "up", "--nodes", "3", "--dir", str(directory),
                  "--wait-ready", "30"], proxied)
        check("cluster up with http_proxy set: exit 0", up.returncode == 0,
              f"exit {up.returncode} after {time.monotonic() - began:.1f} s: "
              f"{up.stderr.strip()[-200:]}")
        if up.returncode != 0:  # started again without the proxy for step 2
            run([*VD, "cluster", "up", "--nodes", "3", "--dir", str(directory)],
                clean_environment())
        status = run([*VD, "cluster", "status", "--dir", str(directory)], proxied)
        check("cluster status with http_proxy set: exit 0, 3 ready",
              status.returncode == 0 and status.stdout.count(" ready ") == 3,
              f"exit {status.returncode}: {(status.stdout + status.stderr).strip()[-300:]}")
        put = run([*VD, "put", "cart", "milk", "--dir", str(directory)], proxied)
        check("put --dir with http_proxy set: exit 0", put.returncode == 0,
              f"exit {put.returncode}: {put.stderr.strip()[-200:]}")
        get = run([*VD, "get", "cart", "--dir", str(directory)], proxied)
        check("get --dir with http_proxy set: milk", get.stdout.startswith("milk\n"),
              f"exit {get.returncode}: {(get.stdout + get.stderr).strip()[-200:]}")
        state = run([sys.executable, "-c", "import json,sys; print(json.load(open(sys.argv[1]))"
                     "['nodes']['n1']['http'])", str(directory / "cluster.json")],
                    clean_environment())
        node = f"127.0.0.1:{state.stdout.strip()}"
        cases = {"ALL_PROXY": "socks5://127.0.0.1:9", "http_proxy": "ftp://127.0.0.1:9",
                 "HTTP_PROXY": "http://127.0.0.1:99999", "SSL_CERT_FILE": "/nonexistent/ca.pem"}
        if importlib.util.find_spec("socksio") is not None:
            del cases["ALL_PROXY"]  # httpx can use a SOCKS proxy then
        for name, value in cases.items():
            env = {**clean_environment(), name: value}
            got = run([*VD, "get", "cart", "--node", node], env)
            err = got.stderr.strip()
            check(f"CLI get with {name}={value}: exit 1, one line naming it",
                  got.returncode == 1 and "Traceback" not in err and "\n" not in err
                  and err.startswith("vdynamo get:") and name in err,
                  f"exit {got.returncode}: {err[-300:]}")
            lib = run([sys.executable, "-c", LIBRARY, node], env)
            check(f"library get with {name}={value}: DynamoError (sync, async)",
                  lib.stdout.count("DynamoError") == 2, (lib.stdout + lib.stderr)[-300:])
        down = run([*VD, "cluster", "down", "--dir", str(directory)], proxied)
        check("cluster down with http_proxy set: exit 0", down.returncode == 0,
              down.stderr.strip()[-200:])
    finally:
        run([*VD, "cluster", "down", "--dir", str(directory)], clean_environment())
        shutil.rmtree(root, ignore_errors=True)
    check.finish()


if __name__ == "__main__":
    main()
