"""A node's metrics in Prometheus's text format (prometheus-client), and observed storage.

Theory of operation
-------------------
Each :class:`impl.runtime.NodeServer` owns one :class:`NodeMetrics` with its
own registry (several nodes may share a process), served at ``GET /metrics``.
Three sources feed it:

- the HTTP layer observes every request (:meth:`NodeMetrics.observe_request`):
  its operation, status and latency, the siblings a get returned, a quorum
  failure (a 503 or 504 from the cluster);
- the runtime counts each authenticated peer message it hands to the core by
  kind (:meth:`NodeMetrics.peer_message`): ``MerkleExchange`` counts
  anti-entropy exchanges, ``HintDelivery`` hints delivered to this node,
  ``ReadRepair`` read repairs received;
- :class:`ObservedStorage` (around the node's engine) times every record and hint write and keeps a
  count of the hints held per intended node (hints pending) and of the hints
  removed after their intended node acknowledged them (hints delivered);
- at each scrape the node core's own counters (``Node.stats``: read repairs
  sent, anti-entropy keys repaired, dropped messages, ...) are read and
  exported as ``vdynamo_node_events_total{event=...}``; the core's internal
  errors (a bug of ours while handling a valid peer message, never a peer's bad
  frame: :mod:`impl.internal_errors`) also as ``vdynamo_internal_errors_total``,
  always present (0 included), apart from the dropped messages and frames.

Metric names follow Prometheus's conventions (``_total`` counters, base units:
seconds, bytes). docs/runtime.md lists every one.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable, Iterator, Mapping

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from impl.storage.base import Storage
from impl.storage.watched import WatchedStorage

__all__ = ["CONTENT_TYPE", "NodeMetrics", "ObservedStorage"]

#: the Content-Type of ``GET /metrics`` (Prometheus text format 0.0.4)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                    5.0, 10.0)
_STORAGE_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                    0.1, 0.25, 1.0)
_SIBLING_BUCKETS = (0, 1, 2, 3, 5, 10, 25, 50)


class ObservedStorage(WatchedStorage):
    """A storage engine that times its writes and counts hints by intended node.

    Wraps ``inner`` (any :class:`~impl.storage.base.Storage`; every other method
    and attribute is the inner engine's, as in :class:`impl.storage.watched.WatchedStorage`).
    ``observe(kind, seconds)`` is called after every record write (``kind``
    "record"), record delete ("delete") and hint write ("hint").
    """

    def __init__(self, inner: Storage) -> None:
        super().__init__(inner)
        self.observe: Callable[[str, float], None] = lambda kind, seconds: None
        self._intended: dict[int, str] = {h.hint_id: h.intended for h in inner.hints()}
        #: hints removed, i.e. acknowledged by their intended node (since this start)
        self.hints_removed = 0

    def write(self, key: bytes, record: bytes) -> None:
        start = time.perf_counter()
        super().write(key, record)
        self.observe("record", time.perf_counter() - start)

    def delete(self, key: bytes) -> None:
        start = time.perf_counter()
        super().delete(key)
        self.observe("delete", time.perf_counter() - start)

    def add_hint(self, intended: str, key: bytes, record: bytes) -> int:
        start = time.perf_counter()
        hint_id = super().add_hint(intended, key, record)
        self.observe("hint", time.perf_counter() - start)
        self._intended[hint_id] = intended
        return hint_id

    def remove_hint(self, hint_id: int) -> None:
        super().remove_hint(hint_id)
        if self._intended.pop(hint_id, None) is not None:
            self.hints_removed += 1

    def hints_pending(self) -> dict[str, int]:
        """Hints held, by intended node."""
        return dict(collections.Counter(self._intended.values()))


class _CoreCollector(Collector):
    """Reads the node core's counters and the hint store at each scrape."""

    def __init__(self, stats: Callable[[], Mapping[str, int]],
                 hints: Callable[[], Mapping[str, int]], removed: Callable[[], int]) -> None:
        self._stats = stats
        self._hints = hints
        self._removed = removed

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        events = CounterMetricFamily(
            "vdynamo_node_events", "Events the node core counts (Node.stats)", labels=["event"])
        stats = self._stats()
        for event, count in sorted(stats.items()):
            events.add_metric([event], count)
        yield events
        yield CounterMetricFamily(  # always present, 0 included: tests read it at stop
            "vdynamo_internal_errors",
            "Errors of ours while handling a valid peer message (a bug, never a peer's bad "
            "frame: impl.internal_errors); logged at ERROR on vdynamo.internal",
            value=stats.get("internal-error", 0))
        pending = GaugeMetricFamily("vdynamo_hints_pending",
                                    "Hints this node holds, by intended node",
                                    labels=["intended"])
        for intended, count in sorted(self._hints().items()):
            pending.add_metric([intended], count)
        yield pending
        yield CounterMetricFamily(
            "vdynamo_hints_delivered",
            "Hints this node handed off and its intended node acknowledged (since start)",
            value=self._removed())


class NodeMetrics:
    """The metrics of one node (see the module docstring)."""

    def __init__(self, stats: Callable[[], Mapping[str, int]],
                 storage: ObservedStorage | None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        self.requests = Counter("vdynamo_http_requests", "HTTP requests answered",
                                ["operation", "status"], registry=registry)
        self.latency = Histogram("vdynamo_http_request_duration_seconds",
                                 "Time from a request's last byte to its answer",
                                 ["operation", "status"], buckets=_LATENCY_BUCKETS,
                                 registry=registry)
        self.siblings = Histogram("vdynamo_get_siblings", "Siblings a successful get returned",
                                  buckets=_SIBLING_BUCKETS, registry=registry)
        self.quorum_failures = Counter(
            "vdynamo_quorum_failures",
            "Gets and puts that did not reach R or W replicas in time (503/504)",
            ["operation"], registry=registry)
        self.peer_messages = Counter(
            "vdynamo_peer_messages_received",
            "Authenticated peer messages handed to the core, by kind (MerkleExchange: "
            "anti-entropy exchanges; HintDelivery: hints received; ReadRepair: repairs)",
            ["kind"], registry=registry)
        self.storage_writes = Histogram("vdynamo_storage_write_duration_seconds",
                                        "Time of one storage write (record, delete, hint)",
                                        ["kind"], buckets=_STORAGE_BUCKETS, registry=registry)
        # each labelled child once: labels() takes a lock and builds a key per call,
        # about half the cost of an observation (docs/benchmarks.md)
        self._request_children: dict[tuple[str, int], tuple[Counter, Histogram]] = {}
        self._peer_children: dict[type, Counter] = {}
        self._storage_children: dict[str, Histogram] = {}
        if storage is not None:
            storage.observe = self._observe_storage
            registry.register(_CoreCollector(stats, storage.hints_pending,
                                             lambda: storage.hints_removed))
        else:
            registry.register(_CoreCollector(stats, dict, lambda: 0))

    def _observe_storage(self, kind: str, seconds: float) -> None:
        child = self._storage_children.get(kind)
        if child is None:
            child = self._storage_children[kind] = self.storage_writes.labels(kind)
        child.observe(seconds)

    def observe_request(self, operation: str, status: int, seconds: float, *,
                        quorum_failed: bool = False) -> None:
        """One answered request (``seconds``: from its last byte to its answer)."""
        children = self._request_children.get((operation, status))
        if children is None:
            children = self._request_children[operation, status] = (
                self.requests.labels(operation, str(status)),
                self.latency.labels(operation, str(status)))
        children[0].inc()
        children[1].observe(seconds)
        if quorum_failed:
            self.quorum_failures.labels(operation).inc()

    def peer_message(self, message: object) -> None:
        """One authenticated peer message handed to the core."""
        kind = type(message)
        child = self._peer_children.get(kind)
        if child is None:
            child = self._peer_children[kind] = self.peer_messages.labels(kind.__name__)
        child.inc()

    def render(self) -> bytes:
        """The text exposition of every metric (the body of ``GET /metrics``)."""
        return generate_latest(self.registry)
