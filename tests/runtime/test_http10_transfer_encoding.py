"""An HTTP/1.0 request with Transfer-Encoding is refused: its framing is faulty
(RFC 9112 6.1) (session 16's probe).

HTTP/1.0 has no chunked coding; RFC 9112 6.1: "A server or client that receives
an HTTP/1.0 message containing a Transfer-Encoding header field MUST treat the
message as if the framing is faulty, even if a Content-Length is present, and
close the connection after processing the message", and 6.3: a faulty request
framing gets 400, then the connection closes. Before, the node decoded the body
as chunked and stored it: ``PUT /kv/te HTTP/1.0`` with ``Transfer-Encoding:
chunked`` and the body ``2\\r\\nab\\r\\n0\\r\\n\\r\\n`` answered 200 and stored
``ab``, where an HTTP/1.0 intermediary in front of the node (which knows no
chunked coding and reads a request without Content-Length as having no body)
takes those bytes for the next request: the request-smuggling shape RFC 9112
11.2 warns of.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.runtime.live import cluster, parse_response, raw, run


@pytest.mark.parametrize("request_bytes", [
    b"PUT /kv/te HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n",
    b"PUT /kv/te HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
    b"Connection: keep-alive\r\n\r\n2\r\nab\r\n0\r\n\r\nGET /kv/te HTTP/1.0\r\n\r\n",
    b"GET /kv/te HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
], ids=["put", "put, keep-alive, a request after it", "get"])
def test_an_http_1_0_request_with_transfer_encoding_is_400_and_closes(
        tmp_path: Path, request_bytes: bytes) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            node = servers[0]
            answer = await raw(node.http_address, request_bytes)
            status, headers, body = parse_response(answer)
            assert status == 400, answer[:300]
            assert headers.get("connection") == "close"
            assert body["outcome"] == "not-written"
            assert "Transfer-Encoding in an HTTP/1.0 request" in body["message"], body
            assert answer.count(b"HTTP/1.1 ") == 1  # nothing after it was served
            assert node.node.record(b"te") is None
            # HTTP/1.0 with Content-Length is served as before
            answer = await raw(node.http_address,
                               b"PUT /kv/te HTTP/1.0\r\nContent-Length: 2\r\n\r\nab")
            assert parse_response(answer)[0] == 200
    run(scenario())
