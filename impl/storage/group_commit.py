"""Group commit: the writes of many inputs in one SQLite transaction and one fsync,
on a writer thread.

Theory of operation
-------------------
The node core returns its writes as effects before the messages that depend on
them (:mod:`impl.staging`: persist, then send). The runtime hands each input's
writes to :meth:`GroupCommit.submit`, which

1. applies them at once to an in-memory *overlay* (records, meta values, hints
   removed), so the node's next input reads them back although they are not
   yet in SQLite -- the node may be handed its next input at once;
2. queues them, numbered (``submit`` returns the number: a *sequence*).

When no commit is running, the queued writes (every input that arrived while the
previous commit ran) are performed at once, on the caller's thread, as the
statements of one open transaction (:meth:`SqliteStorage.begin_batch`: no
commit, no disk wait), and their COMMIT -- with ``fsync="always"`` one fsync of
the write-ahead log for the whole batch -- runs on the writer thread, which does
nothing else, so the caller's thread (the event loop) keeps the GIL and never
waits for the disk. When the COMMIT returns, the writer thread reports the last
sequence it made durable through ``on_durable(sequence, error)``, called **on
the writer thread** (the runtime passes it to its loop with
``call_soon_threadsafe``). The loop then calls :meth:`settle`, which drops from
the overlay what the engine now holds, starts the next commit if writes are
queued, and the runtime performs the Sends and Replies it held back until that
sequence was durable. So, under load, the number of fsyncs per write falls to
one per batch. (A first version performed the statements on the writer thread
too: the two threads then handed the GIL to each other around every statement,
16 futex calls per put, and CPU per put doubled.)

Reads (``read``, ``scan``, ``hints``, ``get_hint``, ``get_meta``) run on the
caller's thread: the overlay first, then the engine's reader connection
(:meth:`SqliteStorage.open_reader`; SQLite's WAL lets it read the last commit
while the writer writes). A value is always in the overlay or committed: the
overlay drops an entry only after the commit that holds it, and only if no later
submit replaced it. A hint added by a queued write has no id until the engine
adds it: :meth:`hints` lists it from the commit on (as with staged hints).
``len()`` is the engine's count: keys first written by a queued write are
counted from their commit on.

The Storage protocol's own write methods (``write``, ``set_meta``, ``flush``...)
perform directly and synchronously on the engine (after the running commit):
the node calls them only while it is being constructed (its incarnation and
actor id), before any input.

Only for ``fsync="always"``: a buffered engine does not fsync its commits, so
the runtime writes to it on the loop, as before (:func:`impl.staging.persist`).

Small writes before large ones (session 57). A submit is *large*
(:data:`LARGE_SUBMIT_BYTES` of records or more, and nothing but records and hints
of keys: no meta, no hint removal, no sync) is committed after the small submits
queued behind it, at most once: when a commit starts and the queue holds a large
submit not yet passed, the batch is only the submits after it that write records
and hints of other keys (none of the large one's, none of a submit left behind
before them); the others stay queued, in their order, for the next commit, which
takes them whatever they are. So a small write waits for the commit running and
its own, not also for the large write queued before it (before, the batch held
both: its ack waited for the large write's statements, WAL pages and fsync). Why
it is safe: every batch is one SQLite transaction, and a transaction's COMMIT
makes durable exactly its own statements (SQLite's WAL appends a committed
transaction's pages as one unit; a reader or a recovery sees whole transactions
in commit order), so a batch that commits first is durable alone; the submits
reordered write disjoint keys (a record, and a hint of a key, is all a write of
a key touches), so no later value of a key is overwritten by an earlier one;
writes of the same key keep their submit order (a submit that writes a key a
submit left behind writes is left behind too). What the node's answers wait
for is then a set, not a prefix: :meth:`settle` returns the sequences a report
made durable, :meth:`waits_for` tells the runtime whether an answer still waits,
and :meth:`skippable` which large submits an answer about other keys need not
wait for (:class:`impl.runtime.NodeServer`'s ``_held``).

A failed batch (:class:`~impl.errors.StorageError` from a write or the commit)
is rolled back whole; ``on_durable`` receives the error, and every input of the
batch is failed by the caller (its held messages dropped, its replies turned
into the error, :meth:`impl.node.Node.persist_failed`). Its entries leave the
overlay: later reads see what the engine holds.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait

from impl.effects import AddHint, DeleteRecord, RemoveHint, Write, WriteMeta, WriteRecord
from impl.errors import StorageError
from impl.staging import apply_write, overlay_scan
from impl.storage._common import removed_page
from impl.storage.base import FsyncPolicy, Hint, HintHead, Storage
from impl.storage.sqlite import SqliteStorage
from impl.versions import ACTOR_META

__all__ = ["LARGE_SUBMIT_BYTES", "GroupCommit"]

#: a submit of at least this many bytes of records (values with their metadata) is
#: large: committed after the small submits queued behind it (the module docstring;
#: session 57). The runtime's large frame (``impl.runtime.LARGE_FRAME_BYTES``, which
#: small frames pass in a peer's queue) is the same size.
LARGE_SUBMIT_BYTES = 64 << 10
#: the writes a large submit may hold: of a key's record or hints only
_KEY_WRITES = (WriteRecord, DeleteRecord, AddHint)

#: ``on_durable(sequence, error)``: every submit up to ``sequence`` is committed
#: (``error`` None) or failed with ``error``; called on the writer thread.
OnDurable = Callable[[int, StorageError | None], None]


class GroupCommit:
    """A :class:`~impl.storage.base.Storage` in front of a SQLite engine whose
    writes a writer thread commits in groups (see the module docstring).

    ``engine``: the engine (this object opens its reader connection and owns it
    from now on; close this object, not the engine). ``on_durable``: see
    :data:`OnDurable`. Call :meth:`start` before the first :meth:`submit`.

    ``fresh_lifetime``: the node constructed on this storage gets a new actor id
    (:func:`impl.versions.lifetime_actor` finds none kept, as with a buffered
    engine). Needed when the driver sends a coordinator's ReplicaPuts before the
    coordinator's own copy is durable: a crash in between loses the local copy
    of a dot the replicas hold, and the same actor would mint it again for
    another value (Riak's kv679). With ``ClusterConfig.actor_per_start`` (the
    default) every start takes a new id anyway; this matters when it is false.
    ``through``: a wrapper of ``engine`` the writes
    are performed through (e.g. the runtime's metrics wrapper, which times writes
    and counts delivered hints); the transaction is still ``engine``'s.
    """

    def __init__(self, engine: SqliteStorage, on_durable: OnDurable, *,
                 fresh_lifetime: bool = False, through: Storage | None = None) -> None:
        self.engine = engine
        #: what the queued writes are performed on (inside engine's transaction)
        self.target: Storage = through if through is not None else engine
        #: hide the kept actor id until the node sets a new one (see the class doc)
        self._hide_actor = fresh_lifetime
        self.fsync: FsyncPolicy = engine.fsync
        engine.open_reader()
        self._on_durable = on_durable
        #: key -> (sequence, record queued; None: a removal queued)
        self._records: dict[bytes, tuple[int, bytes | None]] = {}
        self._meta: dict[str, tuple[int, bytes]] = {}
        self._removed: dict[int, int] = {}
        #: the sequence of the last submit
        self.submitted = 0
        #: sequence -> the keys its writes touch, or None when it is not made of key
        #: writes alone (:data:`_KEY_WRITES`), and whether it is large: every submit
        #: not yet settled (queued, or in the commit running)
        self._pending: dict[int, tuple[frozenset[bytes] | None, bool]] = {}
        #: large submits already left behind once (the next commit takes them)
        self._passed: set[int] = set()
        #: the last sequence of each commit running or reported -> its sequences
        self._batches: dict[int, frozenset[int]] = {}
        #: commits performed and writes they held (for tests and benchmarks);
        #: ``reordered``: small submits committed before a large one queued earlier
        self.commits = 0
        self.writes = 0
        self.reordered = 0
        self._queue: list[tuple[int, list[Write]]] = []
        self._closing = False
        self._writer: ThreadPoolExecutor | None = None
        self._running: Future[None] | None = None
        self._running_sequence = 0

    # ------------------------------------------------------------------ the writer

    def start(self) -> None:
        """Start the writer thread (:meth:`close` stops it)."""
        if self._writer is None:
            self._writer = ThreadPoolExecutor(1, thread_name_prefix="vdynamo-writer")

    def submit(self, writes: list[Write]) -> int:
        """Queue one input's writes (in order) for the next commit and put them in the
        overlay; returns their sequence. Call it from one thread (the loop's)."""
        if self._writer is None or self._closing:
            raise StorageError(f"the storage engine is not running ({str(self.engine.path)!r})")
        self.submitted += 1
        sequence = self.submitted
        keys: set[bytes] | None = set()
        size = 0
        for write in writes:
            if isinstance(write, WriteRecord):
                self._records[write.key] = (sequence, write.record)
            elif isinstance(write, DeleteRecord):
                self._records[write.key] = (sequence, None)
            elif isinstance(write, WriteMeta):
                self._meta[write.name] = (sequence, write.value)
            elif isinstance(write, RemoveHint):
                self._removed[write.hint_id] = sequence
            if keys is not None and isinstance(write, _KEY_WRITES):
                keys.add(write.key)
                size += len(write.record) if isinstance(write, WriteRecord | AddHint) else 0
            else:
                keys = None
        self._pending[sequence] = (None if keys is None else frozenset(keys),
                                   keys is not None and size >= LARGE_SUBMIT_BYTES)
        self._queue.append((sequence, writes))
        if self._running is None:
            self._commit_queued()
        return sequence

    def settle(self, sequence: int) -> frozenset[int]:
        """The commit reported as ``sequence`` (``on_durable``'s) is done (committed
        or failed): drop its submits' overlay entries, and start the next commit if
        writes are queued; returns its submits' sequences (none for a ``sequence``
        no commit waits to be settled as: settled already). Call it from the thread
        that submits."""
        done = self._batches.pop(sequence, None)
        if done is None:
            return frozenset()
        if self._running is not None and sequence == self._running_sequence:
            self._running = None  # its thread only returns now: the engine is free
        for at in done:
            self._pending.pop(at, None)
            self._passed.discard(at)
        pending = self._pending
        self._records = {key: entry for key, entry in self._records.items()
                         if entry[0] in pending}
        self._meta = {name: entry for name, entry in self._meta.items() if entry[0] in pending}
        self._removed = {hint_id: at for hint_id, at in self._removed.items() if at in pending}
        if self._queue and self._running is None and not self._closing:
            self._commit_queued()
        return done

    @property
    def pending(self) -> int:
        """Submits not yet settled."""
        return len(self._pending)

    @property
    def durable(self) -> int:
        """The largest sequence up to which every submit is settled (committed or
        failed): a later one may be settled too (small submits before large ones)."""
        return min(self._pending, default=self.submitted + 1) - 1

    def skippable(self, keys: tuple[bytes, ...]) -> frozenset[int]:
        """The large submits not settled that write none of ``keys``: an answer about
        ``keys`` alone (a ReplicaPutAck, a put's or a get's Reply) need not wait for
        them (:meth:`waits_for`; the runtime's ``_held``)."""
        return frozenset(at for at, (touched, large) in self._pending.items()
                         if large and touched is not None and touched.isdisjoint(keys))

    def waits_for(self, upto: int, skip: frozenset[int],
                  among: Iterable[int] | None = None) -> bool:
        """Whether an answer held when ``upto`` was the last submit waits for one of
        ``among`` (by default the submits not settled) other than ``skip``: the
        submits up to ``upto`` but those it need not wait for."""
        if among is None:
            among = self._pending
            if not skip:  # (the common case: a prefix, as before session 57)
                return min(among, default=upto + 1) <= upto
        return any(at <= upto and at not in skip for at in among)

    def _batch(self) -> list[tuple[int, list[Write]]]:
        """The queued submits the next commit takes, taken from the queue: every one,
        or, when a large submit not passed before is queued, the later submits of
        key writes alone that write none of the keys of a submit left behind (the
        module docstring; the large one is passed once)."""
        queue, pending = self._queue, self._pending
        taken: list[tuple[int, list[Write]]] = []
        left: list[tuple[int, list[Write]]] = []
        behind: set[bytes] = set()
        for at, writes in queue:
            keys, large = pending[at]
            if (large and at not in self._passed) or (left and (
                    keys is None or large or not behind.isdisjoint(keys))):
                left.append((at, writes))
                # every key it writes, a submit of meta writes too (its keys None:
                # session 57's review, a later put of a key passed the reap before it)
                behind.update(write.key for write in writes if isinstance(write, _KEY_WRITES))
            else:
                taken.append((at, writes))
        passing = sum(1 for at, _ in taken if left and at > left[0][0])
        if not passing:  # no small submit passes a large one: one commit, as before
            self._queue = []
            return queue
        self._passed.update(at for at, _ in left)
        self.reordered += passing
        self._queue = left
        return taken

    def _commit_queued(self) -> None:
        """Perform the queued writes as one open transaction, here; COMMIT on the writer."""
        assert self._writer is not None
        batch = self._batch()
        sequence = max(at for at, _ in batch)
        self._batches[sequence] = frozenset(at for at, _ in batch)
        error: StorageError | None = None
        self.engine.begin_batch()
        try:
            for _, writes in batch:
                for write in writes:
                    apply_write(self.target, write)
        except Exception as failure:  # StorageError, sqlite3 or a bug: the batch fails
            self.engine.abort_batch()
            error = (failure if isinstance(failure, StorageError) else
                     StorageError(f"group commit on {str(self.engine.path)!r}: {failure!r}"))
        self.writes += sum(len(writes) for _, writes in batch)
        self._running_sequence = sequence
        self._running = self._writer.submit(self._commit, sequence, error)

    def _commit(self, sequence: int, error: StorageError | None) -> None:
        """On the writer thread: COMMIT (the fsync), then report. Whatever the COMMIT
        raises is reported as the commit's StorageError: a MemoryError (SQLite's
        SQLITE_NOMEM) ended this task unreported before session 32's review, and
        with it every later commit (none starts before this one is settled) and
        every Send and Reply held behind it: each put through the node 504."""
        if error is None:
            try:
                self.engine.commit_batch()
                self.commits += 1
            except StorageError as failure:
                error = failure
            except Exception as failure:  # MemoryError, or a bug: the commit failed
                error = StorageError(f"group commit on {str(self.engine.path)!r}: {failure!r}")
        self._on_durable(sequence, error)

    # ------------------------------------------------------------------ reads

    def read(self, key: bytes) -> bytes | None:
        entry = self._records.get(key)
        return entry[1] if entry is not None else self.engine.read(key)

    def scan(self, lo: int = 0, hi: int | None = None) -> Iterator[tuple[bytes, bytes]]:
        records = {key: record for key, (_, record) in self._records.items()}
        return overlay_scan(self.engine, records, lo, hi)

    def __len__(self) -> int:
        return len(self.engine)

    def hints(self) -> list[Hint]:
        return [hint for hint in self.engine.hints() if hint.hint_id not in self._removed]

    def hints_of(self, key: bytes) -> list[Hint]:
        return [hint for hint in self.engine.hints_of(key) if hint.hint_id not in self._removed]

    def hint_nodes(self) -> set[str]:
        return self.engine.hint_nodes()  # (a superset while removals are queued)

    def hint_heads(self, after: int | None, limit: int) -> list[HintHead]:
        return removed_page(self.engine, self._removed, after, limit)

    def get_hint(self, hint_id: int) -> Hint | None:
        return None if hint_id in self._removed else self.engine.get_hint(hint_id)

    def get_meta(self, name: str) -> bytes | None:
        if self._hide_actor and name == ACTOR_META:
            return None
        entry = self._meta.get(name)
        return entry[1] if entry is not None else self.engine.get_meta(name)

    # ------------------------------------------------------------------ direct writes

    def write(self, key: bytes, record: bytes) -> None:
        self._idle().write(key, record)

    def delete(self, key: bytes) -> None:
        self._idle().delete(key)

    def add_hint(self, intended: str, key: bytes, record: bytes) -> int:
        return self._idle().add_hint(intended, key, record)

    def remove_hint(self, hint_id: int) -> None:
        self._idle().remove_hint(hint_id)

    def set_meta(self, name: str, value: bytes) -> None:
        if name == ACTOR_META:
            self._hide_actor = False
        self._idle().set_meta(name, value)

    def flush(self) -> None:
        self._idle().flush()

    def _idle(self) -> SqliteStorage:
        """The engine, once the running commit (if any) is over."""
        if self._running is not None:
            wait([self._running])
        return self.engine

    def close(self) -> None:
        """Wait for the running commit (reported through ``on_durable`` as usual),
        commit what is queued, stop the writer thread and close the engine."""
        self._closing = True
        if self._writer is not None:
            self._writer.shutdown(wait=True)
        if self._queue:  # queued behind the last commit: made durable, not reported
            with contextlib.suppress(StorageError), self.engine.transaction():
                for _, writes in self._queue:
                    for write in writes:
                        apply_write(self.target, write)
            self._queue = []
        self.engine.close()

    def __repr__(self) -> str:
        return (f"GroupCommit({self.engine!r}, submitted={self.submitted}, "
                f"durable={self.durable}, commits={self.commits})")
