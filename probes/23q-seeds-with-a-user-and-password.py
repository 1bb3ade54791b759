"""Node addresses holding a user name and password (``http://alice:s3cret@h:p``): a
new user whose cluster sits behind a proxy with basic auth, or who copies a
database URL habit (``postgres://user:pass@host``, Riak's and CouchDB's URLs), gives
the library or ``vdynamo --node`` such an address. 23e/23f/23h check addresses
that are not host:port, proxies and certificates; none holds user information.

3 processes (`serve --all`), defaults. The blocking client, the asyncio client and
``vdynamo get`` / ``put`` given ``alice:s3cret@`` before a live node's address and
before a closed port.

Right value: refused at once, naming the address with its user information
masked (LocalError at connect; the CLI exit 1, one line), and ``s3cret`` printed
nowhere; nothing written. Taking it would be wrong twice: the HTTP API has no
login, and after the first ``/status`` the library sends every request to the
addresses the nodes state, without the credentials.

Found (session 61): taken; a get through the live node worked, and one through the
closed port raised NoNodeError "no node could serve it (tried
http://alice:s3cret@127.0.0.1:P)": the password in the application's logs; the
CLI printed it on stderr. Fixed: ``impl.http_client._seed_url`` refuses a ``@``
in the authority, masked; tests/vdynamo/test_client_addresses.py::
test_a_user_and_password_in_an_address_is_refused_unprinted.

Run from the project's root:
    .venv/bin/python probes/23q-seeds-with-a-user-and-password.py
"""
import asyncio
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent))
import vdynamo
from _cluster import Checks, LocalNodes, free_port, vdynamo_command
from impl.errors import DynamoError, LocalError


def main() -> None:
    check = Checks()
    with LocalNodes(nodes=3) as c:
        live = f"alice:s3cret@127.0.0.1:{c.http['n1']}"
        dead = f"http://alice:s3cret@127.0.0.1:{free_port()}"
        for seed in (live, dead):
            try:
                with vdynamo.connect([seed], timeout_s=1, deadline_s=2) as db:
                    db.put("k", b"written")
                    seen = "taken; put through it worked"
            except LocalError as err:
                seen = f"refused: {err}"
            except DynamoError as err:
                seen = f"taken, then {type(err).__name__}: {err}"
            check(f"blocking client refuses {seed[:40]}...", seen.startswith("refused"), seen)
            check(f"blocking client never prints the password ({seed[:20]}...)",
                  "s3cret" not in seen, seen)

            async def use(seed: str = seed) -> str:
                try:
                    async with vdynamo.connect_async([seed], timeout_s=1, deadline_s=2) as db:
                        await db.get("k")
                        return "taken; get through it worked"
                except LocalError as err:
                    return f"refused: {err}"
                except DynamoError as err:
                    return f"taken, then {type(err).__name__}: {err}"
            seen = asyncio.run(use())
            check(f"asyncio client refuses {seed[:40]}...",
                  seen.startswith("refused") and "s3cret" not in seen, seen)
            for args in (("get", "k"), ("put", "k", "cli")):
                done = subprocess.run([*vdynamo_command(), *args, "--node", seed,
                                       "--timeout", "3"],
                                      capture_output=True, text=True, timeout=60)
                check(f"vdynamo {args[0]} --node {seed[:30]}...: exit 1, no password",
                      done.returncode == 1 and "s3cret" not in done.stderr + done.stdout
                      and len(done.stderr.strip().splitlines()) == 1,
                      (done.returncode, done.stderr.strip()[:200]))
        check("nothing written", c.values("k", query="?r=3") == [], c.values("k"))
    check.finish()


if __name__ == "__main__":
    main()
