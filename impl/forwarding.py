"""Client requests: checking, routing and forwarding (Dynamo paper, section 4.5).

Theory of operation
-------------------
Any node accepts a client request. It is checked where it enters
(:func:`check_request`: types, key and value size, R/W in 1..N, the context's
authentication); a bad one is answered with an error and changes nothing.

:class:`Forwarder` decides who coordinates it: a node among the key's top N (the
first N nodes of its preference list) coordinates it itself; any other node
forwards it (``Forward``) to the first top-N node its failure detector believes
reachable, remembers it (a :class:`Forwarding`) and relays the coordinator's
answer (``ForwardReply``) to the client. When the coordinator does not answer
within ``request_timeout + replica_timeout`` seconds (the
:class:`~impl.timers.ForwardTimeout` timer) it is suspected and the next top-N
node is tried; when none answers the node coordinates the request itself, as a
sloppy-quorum fallback. A coordinator ignores a duplicated ``Forward`` (it
remembers the last ``FORWARD_MEMORY`` it saw) and answers a forwarded request
through :func:`answer`, which carries a failure as an :class:`~impl.errors.ErrorCode`.

*A guessed ring coordinates no put* (session 51's review). While a node's serving
ring is a guess (:attr:`impl.gossip.Gossiper.serving_guessed`: a replaced disk that
took its peers' view mid-change) its top N may be none of a key's true owners: a
put it coordinated was acknowledged where the owners' gets do not look. So it
forwards a client's put to another member believed reachable (the ``up`` ones
first), and gives back the grant of a put forwarded to it (``ForwardDecline``);
a get it coordinates itself, asking every member
(:meth:`impl.get_coordinator.GetCoordinator.start`).

*A forwarded put is minted once, and only while its client waits* (session 26).
A coordinator does not coordinate a forwarded put when its ``Forward`` arrives:
it asks the forwarder (``ForwardClaim``) and coordinates only on its
``ForwardGrant`` (:meth:`Forwarder.on_claim`, :meth:`Forwarder.on_grant`). The
forwarder grants a put once, to one claim (``claim_id``, the coordinator's own
id) of the node it last forwarded it to, while it still waits for that node; a
copy of that claim is granted again (a duplicated message), and the coordinator
takes a grant only for the claim it holds. It refuses every other claim: of a
node it gave up on (timed out and tried the next), of a put it answered or
coordinated itself, a second claim. Once it granted, it tries no other node and
never coordinates the put itself: when the granted coordinator does not answer
in time, the client is answered a :class:`~impl.errors.RequestTimeoutError`
(outcome unknown); a coordinator that got its grant too late gives it back
(``ForwardDecline``) and the forwarder tries the next node. Before
session 26 a ``Forward`` held back by the network past the forwarder's timeout
was coordinated on arrival -- after another coordinator had answered the same
put, after the client's next write: a new version minted (a new dot, a new
stamp) that the client's later delete or put did not cover, so the deleted value
came back (session 25's review of the lww stamp floor, lww and dvv).

A coordinator takes a grant only within ``replica_timeout`` of its claim, by its
own clock (:meth:`Forwarder.on_grant`; a later one it declines): the claim left
before the grant, and the
forwarder waits ``request_timeout + replica_timeout`` after granting, so the
coordination starts before the forwarder gives up (clocks are compared only with
themselves; a skew between nodes does not enter). What is guaranteed: a
forwarded put is minted by one node at most, and before its client is answered;
a put answered with an error may still be applied, by the replica writes of the
one coordination (Dynamo's failed put, as for a put coordinated where it
arrived). Riak's put FSM has the same race (``riak_kv_put_fsm``: the forwarding
node waits ``coordinator_timeout`` for the remote coordinator's ack and returns
``{error, coord_handoff_failed}``, the remote one may still run the put). Gets
are coordinated on arrival as before: a late get writes nothing new (its read
repair carries stored versions only).
"""

from __future__ import annotations

import collections
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from impl import messages
from impl.config import KEY_BYTES_CEILING, ClusterConfig
from impl.context import decode_context
from impl.effects import CancelTimer, Effect, GetResult, PutResult, Reply, Send, SetTimer
from impl.errors import (
    BadRequestError,
    DynamoError,
    RequestTimeoutError,
    TooLargeError,
    code_of,
    error_of,
)
from impl.http_values import body_bytes
from impl.messages import Forward, ForwardReply, GetRequest, PutRequest
from impl.quick_init import quick_init
from impl.sloppy_quorum import SloppyQuorum
from impl.timers import ForwardTimeout
from impl.versions import TOMBSTONE, ClockMode
from spec.vclock import VClock

__all__ = [
    "FORWARD_MEMORY",
    "Claim",
    "Forwarder",
    "Forwarding",
    "ReplyTo",
    "answer",
    "check_request",
    "context_of",
    "refuse",
]

FORWARD_MEMORY = 4096  # (sender, op id) of the forwarded requests remembered

Request = GetRequest | PutRequest
Coordinate = Callable[[float, Request, "ReplyTo"], list[Effect]]


@quick_init
@dataclass(frozen=True, slots=True)
class ReplyTo:
    """Where a coordination's answer goes: a local client (``peer`` empty) or the
    peer that forwarded the request (answered with a ForwardReply for ``op_id``).
    ``internal``: nobody, a get the node starts itself (a reap check,
    :meth:`impl.node.Node._reap_checks`): its answer is dropped; ``attempt``: the
    reap check's attempt (0: the first)."""

    request_id: int
    peer: str = ""
    op_id: int = 0
    internal: bool = False
    attempt: int = 0


@dataclass(slots=True)
class Forwarding:
    """A client request this node forwarded to a coordinator in the key's top N."""

    op_id: int
    request_id: int
    request: Request
    candidates: list[str]  # top-N nodes still to try, in order
    target: str  # the coordinator it was last forwarded to
    deadline: float  # seconds, the node's time
    #: the coordinator granted this put ("": none yet); once set, no other node is
    #: tried and the forwarder does not coordinate it itself
    granted: str = ""
    granted_claim: int = 0  # the claim id granted (a copy of that claim is granted again)
    #: a guessed ring's other members believed reachable past the first N
    #: (:meth:`Forwarder.route`): one is tried after each ``ForwardDecline``, an
    #: answer, so that at most N silent ones are waited for
    spare: list[str] = field(default_factory=list)


@quick_init
@dataclass(frozen=True, slots=True)
class Claim:
    """A forwarded put a coordinator asked its forwarder for (``ForwardClaim``) and
    waits to be granted: the request, when the claim was sent (seconds, this
    node's time) and the claim's id."""

    request: PutRequest
    sent: float
    claim_id: int


def check_request(config: ClusterConfig, mode: ClockMode, request: object) -> None:
    """Refuse a bad client request (BadRequestError, TooLargeError, BadContextError)."""
    if not isinstance(request, GetRequest | PutRequest):
        raise BadRequestError(
            f"request must be a GetRequest or a PutRequest, got {type(request).__name__}")
    # Re-run the constructor's checks: a request built around them is refused too.
    request.__post_init__()
    if len(request.key) > KEY_BYTES_CEILING or (
            len(request.key) > config.max_key_bytes and not _stored_key(config, mode, request)):
        raise TooLargeError(
            f"key is {len(request.key)} bytes, over the limit of {config.max_key_bytes} "
            "(max_key_bytes)")
    if isinstance(request, GetRequest):
        if request.r is not None and request.r > config.n:
            raise BadRequestError(f"GetRequest.r: must be in 1..{config.n}, got {request.r}")
        if request.pr is not None and request.pr > config.n:
            raise BadRequestError(f"GetRequest.pr: must be in 0..{config.n} (Riak: pr <= n), "
                                  f"got {request.pr}")
        return
    if request.value == TOMBSTONE:
        raise BadRequestError("PutRequest.value: these bytes are the tombstone marker, "
                              "reserved for deletes")
    # the body, without the HTTP layer's content-type envelope (impl.http_values)
    if (size := body_bytes(request.value)) > config.max_value_bytes:
        raise TooLargeError(f"value is {size} bytes, over the limit of "
                            f"{config.max_value_bytes} (max_value_bytes)")
    if request.w is not None and request.w > config.n:
        raise BadRequestError(f"PutRequest.w: must be in 1..{config.n}, got {request.w}")
    if request.pw is not None and request.pw > config.n:
        raise BadRequestError(f"PutRequest.pw: must be in 0..{config.n} (Riak: pw <= n), "
                              f"got {request.pw}")
    if mode is ClockMode.CLIENT_VCLOCK and not request.client_id:
        raise BadRequestError("PutRequest.client_id: the client-vclock mode needs one")
    context_of(config, mode, request)


def _stored_key(config: ClusterConfig, mode: ClockMode, request: GetRequest | PutRequest) -> bool:
    """Whether a request for a key over ``max_key_bytes`` (within
    ``KEY_BYTES_CEILING``) is one for a key stored before the limit was lowered: a
    get (reading stores nothing: an absent key is a 404), or a put or delete whose
    context (this cluster's, bound to the key) holds a version, so a read of this
    key found one. A blind write, or one with the empty context of a read that found
    nothing, would store a new key over the limit. Before session 18's service
    probe every request for such a key was refused (414 at the HTTP port): an
    operator lowering ``max_key_bytes`` stranded the keys stored under the larger
    limit, as lowering ``max_value_bytes`` stranded values until session 17."""
    if isinstance(request, GetRequest):
        return True
    return bool(context_of(config, mode, request))


def refuse(request: object, error: DynamoError) -> Reply:
    """The Reply refusing a bad client request (request id 0 when it has none)."""
    request_id = getattr(request, "request_id", 0)
    if isinstance(request_id, bool) or not isinstance(request_id, int):
        request_id = 0
    return Reply(request_id, error=error)


def context_of(config: ClusterConfig, mode: ClockMode, request: PutRequest) -> VClock:
    """The clock a put's context carries (BadContextError if it is not ours)."""
    return decode_context(request.context, key=request.key, mode=mode,
                          secret=config.context_secret, max_bytes=config.max_context_bytes)


def answer(reply_to: ReplyTo, result: GetResult | PutResult | None,
           error: DynamoError | None, *, kind: str = "get") -> Effect:
    """The effect that answers a request: a Reply to a local client, or a
    ForwardReply (an error as its code) to the node that forwarded it."""
    if not reply_to.peer:
        return Reply(reply_to.request_id, result, error)
    if error is not None:
        message = ForwardReply(reply_to.op_id, kind, error=code_of(error).value,
                               message=str(error))
    elif isinstance(result, GetResult):
        message = ForwardReply(reply_to.op_id, "get", tuple(result.values), result.context)
    else:
        assert result is not None
        message = ForwardReply(reply_to.op_id, "put", context=result.context)
    return Send(reply_to.peer, message)


class Forwarder:
    """Routing and forwarding at node ``name`` (see the module docstring).

    ``coordinate(now, request, reply_to)`` coordinates a request here.
    """

    def __init__(self, name: str, config: ClusterConfig, mode: ClockMode,
                 quorum: SloppyQuorum, ids: itertools.count[int],
                 coordinate: Coordinate) -> None:
        self.name = name
        self.config = config
        self.mode = mode
        self.quorum = quorum
        self.ids = ids
        self.coordinate = coordinate
        self.forwardings: dict[int, Forwarding] = {}
        self._seen: collections.OrderedDict[tuple[str, int], None] = collections.OrderedDict()
        #: (forwarder, op id) -> the forwarded put claimed and not granted or refused yet
        self.claims: collections.OrderedDict[tuple[str, int], Claim] = collections.OrderedDict()
        #: (forwarder, op id) -> claim id of the claims forgotten ungranted (expired):
        #: their late grant is declined, never taken
        self._expired: collections.OrderedDict[tuple[str, int], int] = collections.OrderedDict()

    def handlers(self) -> dict[type, Callable[[float, str, Any], list[Effect]]]:
        """The peer messages this mechanism handles: type -> handler(now, src, message)."""
        return {Forward: self.on_forward,
                messages.ForwardClaim: self.on_claim,
                messages.ForwardGrant: self.on_grant,
                messages.ForwardDecline: self.on_decline,
                ForwardReply: lambda now, src, message: self.on_forward_reply(src, message)}

    def timers(self) -> dict[type, Callable[[float, Any], list[Effect]]]:
        """The timers this mechanism handles: type -> handler(now, timer)."""
        return {ForwardTimeout: self.on_timeout}

    @property
    def timeout(self) -> float:
        """Seconds a forwarded request waits: the coordinator answers (at the latest
        with a QuorumError) by its request timeout."""
        return self.config.request_timeout + self.config.replica_timeout

    def route(self, now: float, request: Request, reply_to: ReplyTo) -> list[Effect]:
        """Coordinate ``request`` here if this node is among its targets, else forward."""
        targets = self.quorum.preference_list(request.key)[: self.config.n]
        guessed = () if reply_to.peer or isinstance(request, GetRequest) else self.quorum.guessed()
        if guessed:
            # this node's serving ring is a guess (:meth:`impl.gossip.Gossiper.
            # serving_guessed`; a get asks every member instead,
            # :meth:`impl.get_coordinator.GetCoordinator.start`): a put it coordinated
            # was acknowledged by the guess's top N, and the key's true owners read
            # it stale at R = 1 (session 51's review: W = 3 strictly, 6 of 40 keys,
            # seed 3). A peer that routes by the view coordinates it; with none
            # believed reachable it is coordinated here, as before. At most N are
            # tried, as a forward through the view tries the top N: each silent one
            # costs ``timeout`` (session 51's second review: every member tried, an
            # isolated guessed node of five answered its first put after 5.2 s, past
            # the client's 5 s; a larger cluster waits (members - 1) x ``timeout``).
            # (Those past the first N are tried one per decline: a member that
            # routes by the view and is not of the key's top N by it declines,
            # :meth:`_owns`; session 53's review: 7 members, the first N others
            # declined and the guess coordinated, a W = 3 put read stale at R = 1)
            others = [n for n in guessed if n != self.name and self.quorum.reachable(n, now)]
            candidates, spare = others[: self.config.n], others[self.config.n:]
            if not candidates:
                return self.coordinate(now, request, reply_to)
        elif self.name in targets or reply_to.peer:
            return self.coordinate(now, request, reply_to)
        else:
            # The reachable targets in order; when none is, probe the first one.
            candidates = [n for n in targets if self.quorum.reachable(n, now)] or [targets[0]]
            spare = []
        forwarding = Forwarding(next(self.ids), reply_to.request_id, request, candidates[1:],
                                candidates[0], now + self.timeout, spare=spare)
        self.forwardings[forwarding.op_id] = forwarding
        return [Send(forwarding.target, Forward(forwarding.op_id, request)),
                SetTimer(ForwardTimeout(forwarding.op_id), forwarding.deadline)]

    def on_forward(self, now: float, src: str, message: Forward) -> list[Effect]:
        """Coordinate a request another node forwarded (once per copy received)."""
        token = (src, message.op_id)
        if token in self._seen:
            return []  # a duplicate: the first copy is being (or was) coordinated
        self._seen[token] = None
        if len(self._seen) > FORWARD_MEMORY:
            self._seen.popitem(last=False)
        reply_to = ReplyTo(message.request.request_id, src, message.op_id)
        try:
            check_request(self.config, self.mode, message.request)
        except DynamoError as error:
            return [answer(reply_to, None, error)]
        if isinstance(message.request, PutRequest):  # minted only once granted
            self._expire_claims(now)
            claim = Claim(message.request, now, next(self.ids))
            self.claims[token] = claim
            if len(self.claims) > FORWARD_MEMORY:
                self.claims.popitem(last=False)
            return [Send(src, messages.ForwardClaim(message.op_id, claim.claim_id))]
        return self.coordinate(now, message.request, reply_to)

    def on_claim(self, now: float, src: str, message: messages.ForwardClaim) -> list[Effect]:
        """Grant the put ``op_id`` to ``src`` if it is the node this one waits for and
        none was granted it yet; refuse any other claim (see the module docstring)
        but a copy of the claim granted (the same ``claim_id``: a duplicated
        message), granted again. Granting restarts the wait: the coordinator
        answers within its request timeout of the grant."""
        forwarding = self.forwardings.get(message.op_id)
        grant = messages.ForwardGrant(message.op_id, message.claim_id, granted=True)
        if (forwarding is not None and forwarding.granted == src
                and forwarding.granted_claim == message.claim_id):
            return [Send(src, grant)]  # a copy of the claim granted (a duplicate)
        if (forwarding is None or forwarding.granted or src != forwarding.target
                or not isinstance(forwarding.request, PutRequest)):
            refusal = messages.ForwardGrant(message.op_id, message.claim_id, granted=False)
            return [Send(src, refusal)]
        forwarding.granted = src
        forwarding.granted_claim = message.claim_id
        forwarding.deadline = now + self.timeout
        return [Send(src, grant), SetTimer(ForwardTimeout(message.op_id), forwarding.deadline)]

    def on_grant(self, now: float, src: str, message: messages.ForwardGrant) -> list[Effect]:
        """Coordinate the put ``src`` granted, if this node claimed it no more than
        ``replica_timeout`` ago (its own clock): a later grant may find the
        forwarder given up, and it is given back (``ForwardDecline``: never
        coordinated here). A refusal drops the claim."""
        token = (src, message.op_id)
        claim = self.claims.get(token)
        if claim is None and message.granted and self._expired.get(token) == message.claim_id:
            del self._expired[token]  # forgotten ungranted: never coordinated here
            return [Send(src, messages.ForwardDecline(message.op_id))]
        if claim is None or claim.claim_id != message.claim_id:
            return []  # a copy of an answer already taken, or of another claim
        del self.claims[token]
        self._expire_claims(now)
        if not message.granted:
            return []
        if (now - claim.sent > self.config.replica_timeout or self.quorum.guessed()
                or not self._owns(claim.request.key)):
            # (a guessed ring: the forwarder, which routes by the view, hands it to
            # the key's next node or coordinates it; :meth:`route`, session 51's
            # review: forwarded puts a guessed node coordinated, 2 of 12 read stale.
            # Not among the key's top N by this node's view: see :meth:`_owns`)
            return [Send(src, messages.ForwardDecline(message.op_id))]
        reply_to = ReplyTo(claim.request.request_id, src, message.op_id)
        return self.coordinate(now, claim.request, reply_to)

    def _owns(self, key: bytes) -> bool:
        """Whether this node is among ``key``'s top N by its own view (the nodes that
        coordinate a forwarded put). A forwarder whose view is older sends a put to a
        node that, by its own, no longer owns the key (a leaver that has handed its
        ranges over); coordinating it there, outside its targets, it stood in for the
        last target with its own hinted copy and counted that as the target's ack
        (:meth:`impl.put_coordinator.PutCoordinator._coordinate`), the target itself
        up and never sent the write: a put at W = 3 acknowledged without it, and a
        get at R = 1 through that target read the value before (session 53's
        membership probe, probes/07d-membership-sweep.py, a join then a leave, seed
        3). Declined, the forwarder hands it to its next top-N node (the spec
        coordinates no put outside the top N: :mod:`spec.requests`)."""
        return self.name in self.quorum.preference_list(key)[: self.config.n]

    def on_decline(self, now: float, src: str, message: messages.ForwardDecline) -> list[Effect]:
        """The node granted the put ``op_id`` gives the grant back (it came too
        late; that node never coordinates the put): hand the put to the next
        node, or coordinate it here, as if that node had never answered (without
        suspecting it: it answered)."""
        forwarding = self.forwardings.get(message.op_id)
        if forwarding is None or forwarding.granted != src:
            return []
        forwarding.granted = ""
        if forwarding.spare:  # (it answered: the wait for silent ones stays N at most)
            forwarding.candidates.append(forwarding.spare.pop(0))
        return self._next_target(now, forwarding)

    def _expire_claims(self, now: float) -> None:
        """Forget the claims older than ``replica_timeout`` (their values), keeping
        their ids: a late grant of one is declined (:meth:`on_grant`). Claims are
        kept in the order they were made, so the old ones are at the front."""
        while self.claims:
            oldest = next(iter(self.claims.values()))
            if now - oldest.sent <= self.config.replica_timeout:
                return
            token, claim = self.claims.popitem(last=False)
            self._expired[token] = claim.claim_id
            if len(self._expired) > FORWARD_MEMORY:
                self._expired.popitem(last=False)

    def on_forward_reply(self, src: str, message: ForwardReply) -> list[Effect]:
        """Relay the coordinator's answer to the client."""
        forwarding = self.forwardings.get(message.op_id)
        if forwarding is None or src != forwarding.target:
            return []
        del self.forwardings[message.op_id]
        done = CancelTimer(ForwardTimeout(message.op_id))
        if message.error:
            return [Reply(forwarding.request_id, error=error_of(message.error, message.message)),
                    done]
        if message.kind == "get":
            return [Reply(forwarding.request_id,
                          GetResult(list(message.values), message.context)), done]
        return [Reply(forwarding.request_id, PutResult(message.context)), done]

    def on_timeout(self, now: float, timer: ForwardTimeout) -> list[Effect]:
        """The coordinator is silent: suspect it; try the next target, or coordinate."""
        forwarding = self.forwardings.get(timer.op_id)
        if forwarding is None:
            return []
        self.quorum.suspect(forwarding.target, now)
        if forwarding.granted:
            # It may still coordinate the put: no other node may (module docstring).
            del self.forwardings[timer.op_id]
            return [Reply(forwarding.request_id, error=RequestTimeoutError(
                f"{forwarding.granted}, granted the forwarded put, did not answer within "
                f"{self.timeout:g} s; the put may still be applied"))]
        return self._next_target(now, forwarding)

    def _next_target(self, now: float, forwarding: Forwarding) -> list[Effect]:
        """Forward to the next top-N node, or, with none left, coordinate here."""
        if not forwarding.candidates:
            # No node of the top N answers: coordinate here (as a sloppy-quorum fallback).
            del self.forwardings[forwarding.op_id]  # its timer, if set, finds nothing
            return self.coordinate(now, forwarding.request, ReplyTo(forwarding.request_id))
        forwarding.target = forwarding.candidates.pop(0)
        forwarding.deadline = now + self.timeout
        return [Send(forwarding.target, Forward(forwarding.op_id, forwarding.request)),
                SetTimer(ForwardTimeout(forwarding.op_id), forwarding.deadline)]
