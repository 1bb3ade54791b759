"""Every answer of the HTTP port carries a Date header (RFC 9110 6.6.1: an origin
server with a clock MUST send one in its 2xx, 3xx and 4xx answers) in the
IMF-fixdate form (5.6.7), the node's clock (session 18's service probe: no answer
carried one before, a 200 GET, a 300, a 404, a 400 for a malformed request, a 405,
a 413 and a 414 alike)."""

from __future__ import annotations

import email.utils
import re
import time
from pathlib import Path

from tests.runtime.live import call, cluster, raw, run, url

_IMF_FIXDATE = re.compile(rb"date: (\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} GMT)\r\n")


def test_every_answer_carries_a_date(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path, max_value_bytes=8, max_key_bytes=16) as servers:
            for value in (b"a", b"b"):  # two blind puts: siblings
                assert (await call("PUT", url(servers[0], "/kv/two"), value))[0] == 200
            assert (await call("PUT", url(servers[0], "/kv/one"), b"v"))[0] == 200
            requests = {
                200: b"GET /kv/one HTTP/1.1\r\nHost: x\r\n",
                300: b"GET /kv/two HTTP/1.1\r\nHost: x\r\n",
                404: b"GET /kv/none HTTP/1.1\r\nHost: x\r\n",
                400: b"GET /kv/a b HTTP/1.1\r\nHost: x\r\n",
                405: b"POST /kv/one HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n",
                413: b"PUT /kv/one HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n",
                414: b"GET /kv/" + b"k" * 17 + b" HTTP/1.1\r\nHost: x\r\n",
            }
            for status, head in requests.items():
                before = time.time()
                answer = await raw(servers[0].http_address,
                                   head + b"Connection: close\r\n\r\n")
                assert answer.startswith(b"HTTP/1.1 %d " % status), (status, answer[:200])
                found = _IMF_FIXDATE.search(answer.split(b"\r\n\r\n", 1)[0] + b"\r\n")
                assert found, (status, answer[:300])  # before: no Date at all
                stamp = email.utils.parsedate_to_datetime(found.group(1).decode()).timestamp()
                assert before - 2 <= stamp <= time.time() + 1, (status, found.group(1))
            answer = await raw(servers[0].http_address,
                               b"HEAD /kv/one HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert _IMF_FIXDATE.search(answer), answer
    run(scenario())
