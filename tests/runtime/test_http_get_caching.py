"""Every get answer says that it varies by Accept and that no cache may store it
(session 48's service probe; case 08's kind: the HTTP API).

One URL, ``/kv/{key}``, answers a raw value, a multipart 300 or a JSON envelope,
chosen by the request's Accept (RFC 9110 12.5.5: an origin server SHOULD then send
``Vary``), and each answer is a quorum read that any later write makes stale. Before,
no get answer carried ``Vary`` or ``Cache-Control``: a shared cache in front of a node
(Varnish caches a 200 for 120 s by default, honouring Vary) could hand a raw client
another client's JSON envelope as its value, or a value overwritten since. Now each
(200, 300, 404, raw or JSON, GET or HEAD) carries ``vary: accept`` and
``cache-control: no-store`` (RFC 9111 5.2.2.5).

Mutants (checked failing, session 48): ``_GET_CACHING`` empty (the tree before);
without ``vary``; without ``cache-control``."""

from __future__ import annotations

from pathlib import Path

from tests.runtime.procs import ServedNodes, http_call


def test_every_get_answer_varies_by_accept_and_is_not_stored(tmp_path: Path) -> None:
    with ServedNodes(tmp_path, ("n1",), ["n = 1", "r = 1", "w = 1"]) as nodes:
        nodes.start("n1")
        nodes.wait_ready("n1")
        base = f"http://127.0.0.1:{nodes.http['n1']}/kv/"
        assert http_call("PUT", base + "one", b"hello", {"Content-Type": "text/plain"})[0] == 200
        for body in (b"1", b"2"):  # blind puts: two siblings
            assert http_call("PUT", base + "two", body)[0] == 200
        seen = set()
        for key, status in (("one", 200), ("two", 300), ("absent", 404)):
            bodies = set()
            for accept in ("*/*", "application/json"):
                for method in ("GET", "HEAD"):
                    got, headers, answer = http_call(method, base + key,
                                                     headers={"Accept": accept})
                    assert got == status, (key, accept, method, got)
                    assert (answer == b"") == (method == "HEAD"), (key, method, answer[:80])
                    assert headers.get("vary", "").lower() == "accept", (key, headers)
                    assert headers.get("cache-control") == "no-store", (key, headers)
                    if method == "GET":
                        bodies.add(headers["content-type"].split(";")[0])
            seen.add((key, len(bodies)))
        # the representation does depend on Accept (what makes Vary needed)
        assert seen == {("one", 2), ("two", 2), ("absent", 1)}, seen
