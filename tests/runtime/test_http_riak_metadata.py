"""A PUT carrying Riak's user metadata or secondary indexes is refused, not stored
without them (session 50's service probe; case 08's kind: the HTTP API).

Riak's HTTP API stores ``X-Riak-Meta-*`` fields (user metadata) and
``X-Riak-Index-*`` fields (secondary-index entries) with the object, and a get
answers them (riak_kv_wm_object). This node keeps a value and its Content-Type
only: ``PUT /kv/meta`` with ``X-Riak-Meta-Author: bob`` answered 200 and a get
answered ``hi`` with no trace of ``bob``, the metadata lost without a word (as
``X-Riak-Vclock`` was ignored until session 48's review). Now such a PUT is 400
naming the fields, nothing written, refused with its head (before ``100
Continue``); a GET or DELETE carrying them is served (nothing to store).

Mutant (checked failing, session 50): the refusal removed (the tree before): 200.

Session 50's review: Riak's links (a ``Link`` field with ``riaktag``, which
riak_kv_wm_object stores with the object as it does the fields above) were still
dropped silently (200); now refused the same way, a Link without ``riaktag`` served.
Mutants (checked failing): the tree before (200); ``riaktag`` matched case-sensitively
(``RiakTag="x"``: 200); every Link refused (``rel="up"``: 400).
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

from tests.runtime.procs import ServedNodes, http_call


def test_a_put_with_riak_metadata_is_refused_naming_it_and_writes_nothing(
        tmp_path: Path) -> None:
    with ServedNodes(tmp_path, ("n1",), ["n = 1", "r = 1", "w = 1"]) as nodes:
        nodes.start("n1")
        nodes.wait_ready("n1")
        url = nodes.url("n1")
        for fields, named in (({"X-Riak-Meta-Author": "bob"}, "x-riak-meta-author"),
                              ({"X-Riak-Index-Email_bin": "b@x"}, "x-riak-index-email_bin"),
                              ({f"X-Riak-Meta-F{i}": "v" for i in range(5)},
                               "x-riak-meta-f0, x-riak-meta-f1, x-riak-meta-f2 and 2 more"),
                              # Riak's links (riak_kv_wm_object stores a Link field's
                              # riaktag links with the object): dropped silently too,
                              # 200, until session 50's review
                              ({"Link": '</buckets/b/keys/k2>; riaktag="friend"'}, "link"),
                              ({"LINK": '</riak/b/k2>; RiakTag="x"'}, "link")):
            status, _, body = http_call("PUT", url, b"hi", {"Content-Type": "text/plain",
                                                            **fields})
            answer = json.loads(body)
            assert status == 400 and answer["error"] == "BadRequestError", (fields, answer)
            assert answer["message"].startswith(f"{named} on a PUT: "), answer
            assert answer["outcome"] == "not-written", answer
            assert http_call("GET", url)[0] == 404, fields  # nothing written
        with socket.create_connection(("127.0.0.1", nodes.http["n1"]), timeout=5) as sock:
            sock.sendall(b"PUT /kv/k HTTP/1.1\r\nHost: x\r\nX-Riak-Meta-A: 1\r\n"
                         b"Expect: 100-continue\r\nContent-Length: 2\r\n\r\n")
            assert sock.recv(65536).startswith(b"HTTP/1.1 400 "), "a 100 Continue first"
        assert http_call("PUT", url, b"hi", {"Content-Type": "text/plain"})[0] == 200
        status, _, body = http_call("GET", url, headers={"X-Riak-Meta-Author": "bob"})
        assert (status, body) == (200, b"hi")
        assert http_call("DELETE", url, headers={"X-Riak-Index-A_int": "1"})[0] == 200
        # a Link that is not Riak's (no riaktag) is no object metadata: served
        assert http_call("PUT", url, b"hi", {"Link": '</buckets/b>; rel="up"'})[0] == 200
