"""A seed address that answers every request with a redirect to a real node (a load
balancer that sends http to another port or https, an ingress with a trailing-slash
rule, a proxy's 307/308 to the "right" host): 301, 302, 307 and 308 with Location
set to n1's own URL of the same path. 08a-08m send the node malformed or unusual
requests; 23h puts a proxy between the library and the node; none answers the
library with a redirect.

3 processes (`serve --all`), defaults; a small threaded HTTP server on loopback
as the seed, one per status. The blocking library client's put, get and delete of
``k``, then ``vdynamo put k cli --node SEED``.

Right value: the redirect is not followed (a write goes to no host the user did
not name; RFC 9110 15.4: a client may follow a 307/308 only knowing the target is
as trusted as the origin): every call raises a DynamoError naming the status (the
CLI: exit 1, one line), and ``k`` reads [] at r=3 afterwards (nothing written).

Seen (session 61): PASS. The put and delete are reported OutcomeUnknownError
("HTTP 301, not an answer of the API ... the write may have been made"), the get
NoNodeError: conservative (a 3xx means the target did not carry the request out,
but an unknown intermediary's answer is taken as unknown), and the Location is not
named (noted, not changed).

Run from the project's root: .venv/bin/python probes/08n-seed-behind-a-redirecting-proxy.py
"""
import http.server
import subprocess
import sys
import threading
from pathlib import Path

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent))
import vdynamo
from _cluster import Checks, LocalNodes, vdynamo_command
from impl.errors import DynamoError


def redirector(code: int, target: str) -> http.server.ThreadingHTTPServer:
    class Redirect(http.server.BaseHTTPRequestHandler):
        def answer(self) -> None:
            size = int(self.headers.get("Content-Length") or 0)
            if size:
                self.rfile.read(size)
            self.send_response(code)
            self.send_header("Location", target + self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_PUT = do_DELETE = do_HEAD = answer

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> None:
    check = Checks()
    with LocalNodes(nodes=3) as c:
        target = f"http://127.0.0.1:{c.http['n1']}"
        for code in (301, 302, 307, 308):
            server = redirector(code, target)
            seed = f"127.0.0.1:{server.server_address[1]}"
            try:
                for op in ("put", "get", "delete"):
                    try:
                        with vdynamo.connect([seed], timeout_s=1, deadline_s=3) as db:
                            getattr(db, op)("k", *((b"v",) if op == "put" else ()))
                        check(f"{code} {op}: refused", False, "taken")
                    except DynamoError as err:
                        check(f"{code} {op}: a DynamoError naming {code}", str(code) in str(err),
                              err)
                done = subprocess.run([*vdynamo_command(), "put", "k", "cli", "--node", seed,
                                       "--timeout", "3"], capture_output=True, text=True,
                                      timeout=60)
                check(f"{code} vdynamo put: exit 1, one line naming {code}",
                      done.returncode == 1 and str(code) in done.stderr
                      and len(done.stderr.strip().splitlines()) == 1, done.stderr.strip())
            finally:
                server.shutdown()
                server.server_close()
        check("nothing written", c.values("k", query="?r=3") == [], c.values("k"))
    check.finish()


if __name__ == "__main__":
    main()
