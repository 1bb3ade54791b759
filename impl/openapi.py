"""The OpenAPI 3 document of a node's HTTP API, served at ``GET /openapi.json``.

Built from the node's configuration (the limits and the N of the quorum ranges
are the cluster's), so the document a node serves is the API it enforces.
Schemathesis fuzzes a live node against it (tests/runtime/test_fuzz_http.py).
"""

from __future__ import annotations

from typing import Any

from impl.config import ClusterConfig
from impl.http_values import LOCATION_CHARS

__all__ = ["CONTENT_MD5_PATTERN", "ENTITY_TAGS_PATTERN", "document"]

_ERROR = {"$ref": "#/components/schemas/Error"}
#: an If-Match or If-None-Match value the node takes (impl.http_conditions): ``*``, or a
#: comma-separated list of entity tags (RFC 9110 8.8.3, 13.1.1), empty elements and
#: whitespace between them allowed. The document said any string until session 50's
#: service probe: schemathesis sent an empty or unquoted one as valid and got 400.
#: Each separator is read by one part of the pattern (no nested repetition over
#: the same bytes), so a validator's backtracking stays linear in the value
_TAG = r'(W/)?"[\x21\x23-\x7e\x80-\xff]*"'
ENTITY_TAGS_PATTERN = rf"^([ \t]*\*[ \t]*|[ \t,]*{_TAG}([ \t]*,[ \t,]*{_TAG})*[ \t,]*)$"
#: a Content-MD5 the node takes: the base64 of 16 bytes (RFC 1864)
CONTENT_MD5_PATTERN = r"^[ \t]*[A-Za-z0-9+/]{22}==[ \t]*$"


def _json(schema: dict[str, Any], description: str,
          headers: dict[str, Any] | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": description,
                              "content": {"application/json": {"schema": schema}}}
    if headers:
        answer["headers"] = headers
    return answer


def _error(description: str, retry_after: bool = False) -> dict[str, Any]:
    headers = {"Retry-After": {"schema": {"type": "integer"},
                               "description": "seconds to wait before a retry"}}
    return _json(_ERROR, description, headers if retry_after else None)


def document(config: ClusterConfig, version: str = "0.1.0") -> dict[str, Any]:
    """The OpenAPI 3.0 document of the API of a node of ``config``."""
    context_header = {"X-Vdynamo-Context": {
        "schema": {"type": "string", "format": "byte"},
        "description": "the opaque, authenticated context (base64)"}}
    # a number, or one of Riak's names (impl.http_api.QUORUM_NAMES; session 50)
    names = {"type": "string", "enum": ["one", "quorum", "all", "default"]}
    quorum = {"oneOf": [{"type": "integer", "minimum": 1, "maximum": config.n}, names]}
    primaries = {"oneOf": [{"type": "integer", "minimum": 0, "maximum": config.n}, names]}
    pr = {"name": "pr", "in": "query", "schema": primaries,
          "description": f"primary read quorum, 0..{config.n} (default {config.pr}): how "
                         "many of the answers must come from the key's top N themselves, "
                         "not a fallback (Riak's pr); short of it: 503"}
    key = {"name": "key", "in": "path", "required": True,
           "description": f"the key, percent-encoded; at most {config.max_key_bytes} bytes "
                          "once decoded",
           "schema": {"type": "string", "minLength": 1}}
    #: every answer about a key names it (session 37): a client can tell another
    #: key's answer (a broken cache, proxy or load balancer) from its own
    named_key = {"type": "string", "format": "byte",
                 "description": "the key this answer is for, base64"}
    # every get answer (session 48), its 404 too: chosen by Accept, and a read no
    # cache may reuse; required, so that a fuzzer checking the answers against this
    # document (schemathesis) finds one without them (session 48's review)
    no_store = {"Cache-Control": {"schema": {"type": "string", "enum": ["no-store"]},
                                  "required": True,
                                  "description": "no-store: the state now, or a quorum "
                                                 "read, stale once written"}}
    get_caching = {"Vary": {"schema": {"type": "string", "enum": ["accept"]}, "required": True,
                            "description": "accept: the answer (raw, multipart or JSON) "
                                           "depends on it"},
                   **no_store}
    #: a get's 200 or 300 (session 49): a strong tag of the state read and of the
    #: representation sent (impl.http_conditions)
    etag = {"ETag": {"schema": {"type": "string"}, "required": True,
                     "description": "a strong entity tag of the state read (every write "
                                    "changes it) and of this representation (raw or "
                                    "multipart, or JSON): for If-None-Match and If-Match"}}
    preconditions = [
        {"name": "If-Match", "in": "header",
         "schema": {"type": "string", "pattern": ENTITY_TAGS_PATTERN},
         "description": "'*' or ETags a get gave: 412 unless the key's state is one of "
                        "them (strong comparison; '*': the key has a value); a PUT "
                        "without a context whose tag matched replaces that state (the "
                        "read's context), one under '*' is a sibling of what it read"},
        {"name": "If-None-Match", "in": "header",
         "schema": {"type": "string", "pattern": ENTITY_TAGS_PATTERN},
         "description": "'*' or ETags a get gave: if the key's state is one of them "
                        "('*': the key has a value), a GET is 304, a write 412"}]
    #: session 53: the latest write time of the values (impl.http_values.last_modified)
    modified = {"Last-Modified": {
        "schema": {"type": "string"},
        "description": "the latest write time of the values (an HTTP-date: the wall clock "
                       "of the node that took each write, informational, never used to "
                       "order writes); absent when a value was written before it was kept"}}
    located = {**context_header, **etag, **modified, "Content-Location": {
        "schema": {"type": "string"},
        "description": "/kv/<key>, percent-encoded: the key this answer is for (a raw "
                       "or multipart answer; a JSON one names it in its body's key); "
                       f"absent when over {LOCATION_CHARS} characters"},
        **get_caching}
    siblings = {"type": "object", "required": ["values", "content_types", "context", "key"],
                "properties": {
                    "values": {"type": "array", "items": {"type": "string", "format": "byte"},
                               "description": "every sibling's body, base64"},
                    "content_types": {"type": "array", "items": {"type": "string"}},
                    "context": {"type": "string", "format": "byte"},
                    "key": named_key}}
    common = {
        "400": _error("a malformed request, a bad context, r/w/pr/pw out of range"),
        "414": _error(f"a key over {config.max_key_bytes} bytes (one stored before the "
                      "limit was lowered: only a blind put), or a request target too long"),
        "421": _error("X-Vdynamo-Cluster names another cluster than this node's "
                      "(/status's cluster_id): nothing was done"),
        "503": _error("the node is saturated, shutting down or not joined yet, or a get "
                      "did not reach R replicas (PR primaries), or a put's PW primaries "
                      "were not believed reachable: nothing was written; or a put that "
                      "can no longer reach W because replicas' writes failed (a full "
                      "disk, named in the message): outcome unknown", True),
    }

    def write_parameters(context: str) -> list[dict[str, Any]]:
        return [{"name": "w", "in": "query", "schema": quorum,
                 "description": f"write quorum for this request, 1..{config.n}, or one, "
                                f"quorum ({config.n // 2 + 1}), all, default"},
                {"name": "pw", "in": "query", "schema": primaries,
                 "description": f"primary write quorum, 0..{config.n} (default "
                                f"{config.pw}): how many of the acknowledgements must "
                                "come from the key's top N themselves, not a fallback "
                                "holding a hint (Riak's pw); short of it: 504, outcome "
                                "unknown (503 when refused before writing)"},
                {"name": "X-Vdynamo-Context", "in": "header",
                 "schema": {"type": "string", "format": "byte", "minLength": 1},
                 "description": f"{context}; refused (400) unless this cluster issued it"},
                *preconditions]

    def write_responses(written: str) -> dict[str, Any]:
        return {"200": _json({"type": "object", "required": ["context", "key"],
                              "properties": {"context": {"type": "string"},
                                             "key": named_key}},
                             written, context_header),
                **common,
                "412": _error("If-Match or If-None-Match is false on a read of the key "
                              "made first (with R): nothing written"),
                "501": _error("If-Modified-Since, If-Unmodified-Since or If-Range: the "
                              "node keeps no modification date that orders writes "
                              "(Last-Modified is informational), so they are not "
                              "evaluated; nothing written (use If-Match with an ETag)"),
                "504": _error("W replicas (PW primaries) did not acknowledge in time: "
                              "outcome unknown")}

    return {
        "openapi": "3.0.3",
        "info": {"title": "vdynamo node", "version": version, "description": (
            "Amazon's Dynamo key-value store; Riak KV's HTTP conventions. Every error body "
            "is JSON with an `outcome`: `not-written` (a retry is safe) or `unknown` (a "
            "replica may hold the write). See docs/runtime.md.")},
        "paths": {
            "/kv/{key}": {
                "parameters": [key],
                "get": {
                    "operationId": "get", "summary": "read a key (R replicas)",
                    "parameters": [
                        {"name": "r", "in": "query", "schema": quorum,
                         "description": f"read quorum for this request, 1..{config.n}, or one, "
                                        f"quorum ({config.n // 2 + 1}), all, default"},
                        pr,
                        {"name": "Accept", "in": "header", "schema": {"type": "string"},
                         "description": "application/json (preferred by its q over "
                                        "the value's type): the answer as JSON; a "
                                        "malformed field: 400"},
                        *preconditions],
                    "responses": {
                        "200": {"description": "one value: its raw body and content type",
                                "headers": located,
                                "content": {"*/*": {"schema": {"type": "string",
                                                                "format": "binary"}},
                                            "application/json": {"schema": siblings}}},
                        "300": {"description": "siblings: multipart/mixed, one part each "
                                               "under its Content-Type (a multipart/* or "
                                               "message/* one as application/octet-stream, "
                                               "its type in X-Vdynamo-Content-Type); JSON "
                                               "on Accept: application/json",
                                "headers": located,
                                "content": {"multipart/mixed": {"schema": {"type": "string"}},
                                            "application/json": {"schema": siblings}}},
                        "304": {"description": "If-None-Match named this state's ETag: no "
                                               "content", "headers": located},
                        "404": _json({"type": "object"}, "no value: the body has the context",
                                     {**context_header, **get_caching}),
                        "412": _error("If-Match is false: the key has no value or another "
                                      "state"),
                        **common,
                        "504": _error("no answer from the cluster in time")}},
                "put": {
                    "operationId": "put",
                    "summary": "write a value; its context supersedes what the context covers",
                    "parameters": [*write_parameters(
                        "a get's context, base64 (none: a new concurrent write)"),
                        {"name": "r", "in": "query", "schema": quorum,
                         "description": "with If-Match or If-None-Match only: the read "
                                        "quorum of the read of the key they are "
                                        f"evaluated on, 1..{config.n}"},
                        {**pr, "description": "with If-Match or If-None-Match only: the "
                                              "primary read quorum of that read, "
                                              f"0..{config.n}"},
                        {"name": "Content-MD5", "in": "header",
                         "schema": {"type": "string", "pattern": CONTENT_MD5_PATTERN},
                         "description": "the base64 of the body's MD5 digest (RFC 1864): "
                                        "a body that does not match it, or a malformed "
                                        "one, is refused 400, nothing written"}],
                    "requestBody": {"required": False, "content": {
                        "application/octet-stream": {"schema": {
                            "type": "string", "format": "binary",
                            "maxLength": config.max_value_bytes}},
                        "text/plain": {"schema": {"type": "string"}}}},
                    "responses": {
                        **write_responses("acknowledged by W replicas"),
                        "411": _error("neither Content-Length nor Transfer-Encoding: "
                                      "chunked (send Content-Length: 0 for an empty value)"),
                        "413": _error(f"a value over {config.max_value_bytes} bytes, or "
                                      f"one that would grow the key's record (every "
                                      f"sibling) over {config.max_record_bytes} bytes "
                                      f"or past {config.max_siblings} siblings (the body's "
                                      "limit names which: max_record_bytes, max_siblings; "
                                      "400 until session 53), "
                                      "or one that fewer than W of the key's N replicas "
                                      "could store for the max_value_bytes or "
                                      "max_key_bytes they announced, smaller than this "
                                      "node's (a rolling change of the limits; the "
                                      "message names each such replica and its limits); "
                                      "nothing was written"),
                        "415": _error("a Content-Encoding other than identity (the "
                                      "node would serve the coded bytes without it)"),
                        "417": _error("an Expect header other than 100-continue")}},
                "delete": {
                    "operationId": "delete",
                    "summary": "delete: write a tombstone covering the context; a later get "
                               "answers 404 with a context that supersedes it",
                    "parameters": [*write_parameters(
                        "a get's context, base64: what the delete covers (none: the node "
                        "reads the key first, with R, and deletes what it read)"),
                        {"name": "r", "in": "query", "schema": quorum,
                         "description": "read quorum of the read made when no context is "
                                        f"given, 1..{config.n}"},
                        {**pr, "description": "primary read quorum of that read, "
                                              f"0..{config.n}"}],
                    "responses": {
                        **write_responses("the tombstone, acknowledged by W replicas"),
                        "404": _json({"type": "object"}, "no context given and the read "
                                     "found no value, or a delete with a context refused "
                                     "(its retries' tombstones over the sibling limit) "
                                     "of a key with no value left: nothing written; the "
                                     "body has the read's context", context_header)}},
            },
            "/status": {"get": {"operationId": "status", "summary": "the node's state",
                                "responses": {"200": _json({"type": "object"},
                                                           "see docs/runtime.md", no_store)}}},
            "/health": {"get": {"operationId": "health", "summary": "liveness and readiness",
                                "responses": {"200": _json({"type": "object"}, "alive",
                                                           no_store)}}},
            "/health/ready": {"get": {
                "operationId": "ready", "summary": "readiness",
                "responses": {"200": _json({"type": "object"}, "ready for requests", no_store),
                              "503": _json({"type": "object"}, "not ready", no_store)}}},
            "/metrics": {"get": {"operationId": "metrics", "summary": "Prometheus text format",
                                 "responses": {"200": {
                                     "description": "metrics", "headers": no_store,
                                     "content": {"text/plain": {"schema": {"type": "string"}}}}}}},
            "/admin/force-remove": {"post": {
                "operationId": "forceRemove",
                "summary": "force-remove a member down for good (riak-admin cluster "
                           "force-remove); Authorization: Bearer STAMP.NONCE.TAG, one "
                           "request's token (impl.http_api.admin_authorization)",
                "parameters": [{"name": "node", "in": "query", "required": True,
                                "schema": {"type": "string"}}],
                "responses": {"200": _json({"type": "object"}, "the removal announced"),
                              "400": _error("a query parameter other than node, or node "
                                            "given twice"),
                              "401": _json({"type": "object"}, "no or a wrong admin token "
                                           "(another node or member, stale, or used)"),
                              "409": _json({"type": "object"}, "refused, naming why "
                                           "(up, unknown, fewer than N members left)")}}},
            "/openapi.json": {"get": {"operationId": "openapi", "summary": "this document",
                                      "responses": {"200": _json({"type": "object"},
                                                                 "OpenAPI 3")}}},
        },
        "components": {"schemas": {"Error": {
            "type": "object", "required": ["error", "message", "outcome"],
            "properties": {"error": {"type": "string"}, "message": {"type": "string"},
                           "outcome": {"type": "string", "enum": ["not-written", "unknown"]}},
        }}},
    }
