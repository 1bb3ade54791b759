"""The HTTP API in Riak's convention, /health, /metrics, /status and /openapi.json,
on real nodes in this process (impl.LocalCluster)."""

from __future__ import annotations

import asyncio
import base64
import email.parser
import email.policy
import json
from typing import Any

import httpx

import impl
from impl.http_values import MAGIC, body_bytes, open_value, seal_value
from impl.runtime import Address, NodeServer
from impl.storage.memory import MemoryStorage
from tests.runtime.live import run


def _parts(response: httpx.Response) -> list[tuple[str, bytes]]:
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + response.headers["content-type"].encode() + b"\r\n\r\n"
        + response.content)
    return sorted((part.get_content_type(), part.get_payload(decode=True) or b"")
                  for part in message.iter_parts())


def test_the_envelope_keeps_the_content_type_and_reads_values_without_one() -> None:
    assert open_value(seal_value(b"{}", b"application/json")) == ("application/json", b"{}")
    assert open_value(seal_value(b"x", None)) == ("application/octet-stream", b"x")
    assert open_value(b"raw, no envelope") == ("application/octet-stream", b"raw, no envelope")
    assert open_value(MAGIC) == ("application/octet-stream", MAGIC)  # too short: raw


def test_body_bytes_is_the_length_of_the_body_open_value_reads() -> None:
    """What ``max_value_bytes`` limits (impl.forwarding, impl.replica) is exactly the
    body :func:`open_value` reads, for sealed values, values without the envelope,
    and values starting with the magic whose declared content type runs past their
    end (read whole). Session 12's review: the mutant without that last guard
    (a negative length) survived every test."""
    for stored in (seal_value(b"abc", b"text/plain"), seal_value(b"", None), b"raw",
                   b"", MAGIC, MAGIC + bytes([200]) + b"x", MAGIC + bytes([1])):
        assert body_bytes(stored) == len(open_value(stored)[1]), stored


def test_get_put_in_riak_convention() -> None:
    async def scenario() -> None:
        async with impl.LocalCluster(nodes=3, n=3, r=2, w=2, request_timeout=5.0) as cluster, \
                httpx.AsyncClient() as http:
            base = cluster.urls[0]
            absent = await http.get(f"{base}/kv/cart")
            assert absent.status_code == 404 and absent.headers["x-vdynamo-context"]
            assert absent.json()["outcome"] == "not-written"
            put = await http.put(f"{base}/kv/cart", content=b'{"milk": 1}', headers={
                "content-type": "application/json",
                "x-vdynamo-context": absent.headers["x-vdynamo-context"]})
            assert put.status_code == 200 and put.headers["x-vdynamo-context"]
            one = await http.get(f"{cluster.urls[1]}/kv/cart")
            assert one.status_code == 200 and one.content == b'{"milk": 1}'
            assert one.headers["content-type"] == "application/json"
            # two writes without a context: siblings, 300 with both
            await http.put(f"{base}/kv/cart", content=b"eggs")
            both = await http.get(f"{base}/kv/cart?r=3")
            assert both.status_code == 300
            assert both.headers["content-type"].startswith("multipart/mixed; boundary=")
            assert _parts(both) == [("application/json", b'{"milk": 1}'),
                                    ("application/octet-stream", b"eggs")]
            as_json = await http.get(f"{base}/kv/cart?r=3",
                                     headers={"accept": "application/json"})
            body = as_json.json()
            assert as_json.status_code == 300
            assert sorted(zip(body["content_types"],
                              (base64.b64decode(v) for v in body["values"]), strict=True)) == [
                ("application/json", b'{"milk": 1}'), ("application/octet-stream", b"eggs")]
            # the context of the 300 collapses them
            await http.put(f"{base}/kv/cart", content=b"merged",
                           headers={"x-vdynamo-context": both.headers["x-vdynamo-context"]})
            merged = await http.get(f"{base}/kv/cart?r=3")
            assert merged.status_code == 200 and merged.content == b"merged"
            # quorum ranges are named
            for target in ("/kv/cart?r=0", "/kv/cart?r=4", "/kv/cart?r=x"):
                answer = await http.get(base + target)
                assert answer.status_code == 400 and "1..3" in answer.json()["message"]
            answer = await http.put(f"{base}/kv/cart?w=9", content=b"v")
            assert answer.status_code == 400 and "w: must be an integer in 1..3" in answer.text
            # the primary quorums (session 39): 0..N, named; every node up, PR = N reads
            for target in ("/kv/cart?pr=4", "/kv/cart?pr=-1", "/kv/cart?pr=x"):
                answer = await http.get(base + target)
                assert answer.status_code == 400, target
                assert "pr: must be an integer in 0..3" in answer.json()["message"]
            answer = await http.put(f"{base}/kv/cart?pw=4", content=b"v")
            assert answer.status_code == 400 and "pw: must be an integer in 0..3" in answer.text
            answer = await http.get(f"{base}/kv/cart?pw=1")  # a put's parameter
            assert answer.status_code == 400 and "takes r and pr" in answer.text
            primaries = await http.get(f"{base}/kv/cart?r=1&pr=3")
            assert (primaries.status_code, primaries.content) == (200, b"merged")
            answer = await http.post(f"{base}/kv/cart", content=b"v")
            assert answer.status_code == 405
            assert answer.headers["allow"] == "GET, HEAD, PUT, DELETE"
            # HEAD is a GET without the body (RFC 9110 9.3.2): same status and headers
            head = await http.head(f"{base}/kv/cart?r=3")
            assert (head.status_code, head.content) == (200, b"")
            assert head.headers["content-length"] == str(len(b"merged"))
            assert head.headers["x-vdynamo-context"] == merged.headers["x-vdynamo-context"]
            assert (await http.head(f"{base}/kv/never-written")).status_code == 404
            assert (await http.head(f"{base}/health")).status_code == 200
            metrics = (await http.get(f"{base}/metrics")).text
            assert _metric(metrics, "vdynamo_http_requests_total", operation="head",
                           status="200") == 1
            answer = await http.put(f"{base}/kv/bad", content=b"v",
                                    headers={"content-type": "x" * 300})
            assert answer.status_code == 400 and "Content-Type" in answer.json()["message"]
    run(scenario())


def _metric(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_health_metrics_status_and_openapi() -> None:
    async def scenario() -> None:
        async with impl.LocalCluster(nodes=3, n=3, r=2, w=2, request_timeout=5.0) as cluster, \
                httpx.AsyncClient() as http:
            base = cluster.urls[0]
            health = (await http.get(f"{base}/health")).json()
            assert health["live"] and health["ready"] and health["member_status"] == "up"
            assert (await http.get(f"{base}/health/ready")).status_code == 200
            for i in range(3):
                await http.put(f"{base}/kv/k{i}", content=b"v")
            await http.put(f"{base}/kv/k0", content=b"w")  # a sibling
            await http.get(f"{base}/kv/k0?r=3")
            await http.get(f"{base}/kv/absent")
            await http.get(f"{base}/kv/k0?r=9")
            metrics = await http.get(f"{base}/metrics")
            assert metrics.headers["content-type"].startswith("text/plain; version=0.0.4")
            text = metrics.text
            assert _metric(text, "vdynamo_http_requests_total", operation="put",
                           status="200") == 4
            assert _metric(text, "vdynamo_http_requests_total", operation="get",
                           status="300") == 1
            assert _metric(text, "vdynamo_http_requests_total", operation="get",
                           status="404") == 1
            assert _metric(text, "vdynamo_http_requests_total", operation="get",
                           status="400") == 1
            assert _metric(text, "vdynamo_http_request_duration_seconds_count",
                           operation="put", status="200") == 4
            assert _metric(text, "vdynamo_get_siblings_count") == 2
            assert _metric(text, "vdynamo_get_siblings_sum") == 2  # 2 siblings + 0
            assert _metric(text, "vdynamo_storage_write_duration_seconds_count",
                           kind="record") >= 1
            for name in ("vdynamo_hints_delivered_total", "vdynamo_node_events_total",
                         "vdynamo_quorum_failures_total", "vdynamo_hints_pending"):
                assert f"# TYPE {name.removesuffix('_total')}" in text
            status = (await http.get(f"{base}/status")).json()
            assert status["node"] == "n1" and status["config"]["n"] == 3
            assert set(status["ring"]["tokens"]) == {"n1", "n2", "n3"}
            assert {m["status"] for m in status["membership"].values()} == {"up"}
            assert status["http"] == {s.name: str(s.http_address) for s in cluster.servers}
            assert status["hints_pending"] == {} and status["keys"] >= 1
            document = (await http.get(f"{base}/openapi.json")).json()
            assert document["openapi"].startswith("3.")
            assert {"/kv/{key}", "/status", "/health", "/metrics"} <= set(document["paths"])
            get = document["paths"]["/kv/{key}"]["get"]
            assert {"200", "300", "404", "400", "503"} <= set(get["responses"])
            number, names = get["parameters"][0]["schema"]["oneOf"]  # or Riak's names
            assert number["maximum"] == 3 and "quorum" in names["enum"]
            # the document names exactly the methods /kv/{key} serves (not 405)
            documented = set(document["paths"]["/kv/{key}"]) - {"parameters"}
            served = {method.lower() for method in ("GET", "PUT", "DELETE", "POST", "PATCH")
                      if (await http.request(method, f"{base}/kv/doc")).status_code != 405}
            assert documented == served == {"get", "put", "delete"}
    run(scenario())


def test_a_stopping_node_is_not_ready_and_answers_requests_in_flight() -> None:
    async def scenario() -> None:
        async with impl.LocalCluster(nodes=3, n=3, r=2, w=3, request_timeout=5.0) as cluster:
            survivor, doomed, stopping = cluster.servers
            await doomed.stop()  # w=3 cannot be reached: the put waits
            client = httpx.AsyncClient()
            put = client.put(f"http://{stopping.http_address}/kv/k", content=b"v")
            task: asyncio.Task[Any] = asyncio.ensure_future(put)
            for _ in range(300):  # until the put is in flight (a loaded machine is slower)
                if stopping.node.pending:
                    break
                await asyncio.sleep(0.01)
            assert stopping.node.pending == 1
            assert stopping.health()["ready"]
            await stopping.stop(grace_s=0.2)
            answer = await task
            assert answer.status_code == 504 and answer.json()["outcome"] == "unknown"
            assert "shutting down" in answer.json()["message"]
            assert not stopping.health()["ready"]
            refusal = stopping.unavailable()  # a kept-alive connection's next request: 503
            assert refusal is not None and "shutting down" in str(refusal)
            await client.aclose()
            assert json.loads(json.dumps(survivor.status()))["node"] == "n1"
    run(scenario())


def test_a_node_that_has_not_joined_refuses_requests_at_once() -> None:
    async def scenario() -> None:
        async with impl.LocalCluster(nodes=3) as cluster, httpx.AsyncClient() as http:
            lonely = NodeServer("n9", cluster.config, MemoryStorage(), {})  # no seed reachable
            await lonely.start(Address("127.0.0.1", 0), Address("127.0.0.1", 0))
            try:
                started = asyncio.get_running_loop().time()
                answer = await http.get(f"http://{lonely.http_address}/kv/k")
                assert answer.status_code == 503 and answer.headers["retry-after"]
                assert answer.json()["outcome"] == "not-written"
                assert "has not joined" in answer.json()["message"]
                assert asyncio.get_running_loop().time() - started < 1.0
                ready = await http.get(f"http://{lonely.http_address}/health/ready")
                assert ready.status_code == 503
                assert ready.json()["member_status"] == "not-joined"
            finally:
                await lonely.stop()
    run(scenario())
