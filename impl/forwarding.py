"""Request routing and forwarding for the node core (Dynamo paper, section 4.5).

Theory of operation
-------------------
Any node accepts a client request. :class:`ForwardingMixin` is the part of
:class:`impl.node.Node` that decides who coordinates it: a node among the key's
top N (the first N nodes of its preference list) coordinates it itself; any
other node forwards it (``Forward``) to the first top-N node its failure
detector believes reachable, remembers it (a :class:`impl.coordinator.ForwardOp`)
and relays the coordinator's answer (``ForwardReply``) to the client. When the
coordinator does not answer within ``request_timeout + replica_timeout`` it is
suspected and the next top-N node is tried; when none answers the node
coordinates the request itself, as a sloppy-quorum fallback. A coordinator
ignores a duplicated ``Forward`` (it remembers the last ``FORWARD_MEMORY`` it
saw) and answers a forwarded request through :meth:`ForwardingMixin._answer`.
"""

from __future__ import annotations

import collections
import itertools
from typing import TYPE_CHECKING

from impl import errors
from impl.coordinator import ForwardOp, ReplyTo
from impl.effects import Effect, GetResult, PutResult, Reply, Send
from impl.errors import DynamoError
from impl.messages import Forward, ForwardReply, GetRequest, PutRequest

if TYPE_CHECKING:
    from impl.config import ClusterConfig

__all__ = ["FORWARD_MEMORY", "ForwardingMixin"]

FORWARD_MEMORY = 4096  # (sender, op id) of the forwarded requests remembered


class ForwardingMixin:
    """The routing and forwarding part of :class:`impl.node.Node`."""

    if TYPE_CHECKING:  # provided by Node
        name: str
        config: ClusterConfig
        _op_ids: itertools.count[int]
        _forwards: dict[int, ForwardOp]
        _forwarded_seen: collections.OrderedDict[tuple[str, int], None]

        def preference_list(self, key: bytes) -> tuple[str, ...]: ...
        def _reachable(self, node: str) -> bool: ...
        def _suspect(self, node: str) -> None: ...
        def _schedule(self, at: float, kind: str, ident: int = 0) -> None: ...
        def _check_request(self, request: object) -> None: ...
        def _coordinate(self, now: float, request: GetRequest | PutRequest,
                        reply_to: ReplyTo, out: list[Effect]) -> None: ...

    def _route(self, now: float, request: GetRequest | PutRequest, reply_to: ReplyTo,
               out: list[Effect]) -> None:
        top = self.preference_list(request.key)[: self.config.n]
        if self.name in top or reply_to.peer:
            self._coordinate(now, request, reply_to, out)
            return
        # The reachable top-N nodes in order; when none is, probe the first one.
        candidates = [node for node in top if self._reachable(node)] or [top[0]]
        op = ForwardOp(next(self._op_ids), reply_to.request_id, request, candidates[1:],
                       candidates[0], now + self._forward_timeout())
        self._forwards[op.op_id] = op
        out.append(Send(op.target, Forward(op.op_id, request)))
        self._schedule(op.deadline, "forward", op.op_id)

    def _forward_timeout(self) -> float:
        # the coordinator answers (at the latest with a QuorumError) by its request timeout
        return self.config.request_timeout + self.config.replica_timeout

    def _on_forward(self, now: float, src: str, message: Forward, out: list[Effect]) -> None:
        token = (src, message.op_id)
        if token in self._forwarded_seen:
            return  # a duplicate: the first copy is being (or was) coordinated
        self._forwarded_seen[token] = None
        if len(self._forwarded_seen) > FORWARD_MEMORY:
            self._forwarded_seen.popitem(last=False)
        reply_to = ReplyTo(message.request.request_id, src, message.op_id)
        try:
            self._check_request(message.request)
        except DynamoError as error:
            self._answer(reply_to, None, error, out)
            return
        self._coordinate(now, message.request, reply_to, out)

    def _on_forward_reply(self, now: float, src: str, message: ForwardReply,
                          out: list[Effect]) -> None:
        op = self._forwards.get(message.op_id)
        if op is None or src != op.target:
            return
        del self._forwards[message.op_id]
        if message.error:
            error_type = getattr(errors, message.error, None)
            if not (isinstance(error_type, type) and issubclass(error_type, DynamoError)):
                error_type = errors.RemoteError
            out.append(Reply(op.request_id, error=error_type(message.message)))
        elif message.kind == "get":
            out.append(Reply(op.request_id, GetResult(list(message.values), message.context)))
        else:
            out.append(Reply(op.request_id, PutResult(message.context)))

    def _forward_timer(self, now: float, op_id: int, out: list[Effect]) -> None:
        op = self._forwards.get(op_id)
        if op is None:
            return
        self._suspect(op.target)
        if not op.candidates:
            # No node of the top N answers: coordinate here (as a sloppy-quorum fallback).
            del self._forwards[op_id]
            assert isinstance(op.request, GetRequest | PutRequest)
            self._coordinate(now, op.request, ReplyTo(op.request_id), out)
            return
        op.target = op.candidates.pop(0)
        op.deadline = now + self._forward_timeout()
        assert isinstance(op.request, GetRequest | PutRequest)
        out.append(Send(op.target, Forward(op.op_id, op.request)))
        self._schedule(op.deadline, "forward", op_id)

    def _answer(self, reply_to: ReplyTo, result: GetResult | PutResult | None,
                error: DynamoError | None, out: list[Effect]) -> None:
        if not reply_to.peer:
            out.append(Reply(reply_to.request_id, result, error))
            return
        if error is not None:
            kind = "put" if isinstance(result, PutResult) else "get"
            message = ForwardReply(reply_to.op_id, kind, error=type(error).__name__,
                                   message=str(error))
        elif isinstance(result, GetResult):
            message = ForwardReply(reply_to.op_id, "get", tuple(result.values), result.context)
        else:
            assert result is not None
            message = ForwardReply(reply_to.op_id, "put", context=result.context)
        out.append(Send(reply_to.peer, message))
