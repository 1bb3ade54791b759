"""Admission of client requests by bytes, first come first served (session 24).

Theory of operation
-------------------
A node bounds the bytes of the requests it has in flight (``max_pending_bytes``
against :attr:`impl.node.Node.pending_bytes`, session 23). A request of ``size``
bytes (a put's value; a get's record is not known before it is read: 0) *fits*
when nothing is in flight or the bytes in flight plus ``size`` are within the
limit. :class:`ByteAdmission` admits a request that fits at once if no request
waits; otherwise the request joins a FIFO queue and waits at most ``wait``
seconds. Only the queue's head is admitted, when it fits (a get aside, below):
those behind it wait even if they would fit, so a large put is not passed over
again and again by small ones that keep the bytes busy (session 23's second review: 12
clients of 100 KB puts and one of 1 MiB puts, the large one stored 6 times in
15 s, once after 20 tries). A request still waiting at the end of its wait is
refused (a 503 with Retry-After, nothing written): the wait is the node's
Retry-After, so a client that would have been told to come back then is served
in order instead, no later. The runtime calls :meth:`ByteAdmission.poke` after
the core's effects (the bytes in flight fall only then), and the head, woken,
checks again (it is admitted only once the request before it started and was
counted). A get (``size`` 0: it reserves nothing at admission) that fits is
admitted at once, puts waiting or not, and a get waiting (the bytes over the
limit) goes as soon as one fits, wherever it is in the queue (session 27's user
probe: 200 connections each sent a put's head of ``Content-Length`` 1,000,000
and 10 bytes of body, then nothing; the first normal GET queued behind 199 puts
that did not fit and was refused 503 at the end of its wait, though 1,000,000
bytes reserved of 1,398,101 left room for it). The FIFO keeps a large put from
being passed by smaller *puts*; a get reserves nothing when admitted. Its record
counts in ``held()`` once read, though, so gets passing freely starved the put
at the head (8 clients reading a 600 KB record in a loop: 1 of 20 puts of 1 MiB
stored in 20 s, 75 of 75 with gets in the queue): a get passes those waiting
only while it fits and the bytes in flight, reservations aside, leave the head
room (``held() + head's size <= limit``, :meth:`_get_passes`; 101 of 101 puts
and 912 gets, 676 before). What remains: gets admitted at one instant each see
``held()`` before any record is read, so together they may pass the bound by
their records, and the head then waits for them to be answered. Cassandra's
``native_transport_max_request_data_in_flight`` counts a request's bytes too,
and a read's request is small. A node that stops closes the queue
(:meth:`ByteAdmission.close`): those waiting are refused at once, and answered
before their connections close.

A put's value is not read before its admission (the HTTP port waits its turn
once its head is read, :meth:`impl.http_api.HttpApi._admit_body`), so the bytes
of a put admitted and still reading its body are not yet in flight: it holds
them as a *reservation* (:meth:`ByteAdmission.reserve`) that counts with the
bytes in flight until it starts or is given up (:meth:`ByteAdmission.release`).
A reservation is held whole for :attr:`ByteAdmission.hold` seconds (the node's
Retry-After, as long as a request waits for its turn); after that it counts only
the bytes its body has received, growing as they arrive
(:meth:`impl.http_api.HttpApi._settle`). Before (session 25's user probe), a
client that sent a head and then trickled its body kept its whole Content-Length
reserved for as long as the body took (a 1 MiB one at ``http_min_body_rate``,
500 B/s: about 35 minutes), and two such connections made every other put of the
node 503. Past its hold a reservation is not guaranteed: its bytes received may
not take the node over the limit, and it gives way (refused 503, its bytes let
go) to a request waiting its turn that does not fit (:attr:`ByteAdmission.give_way`;
session 25's review: waiting out the hold and then sending all but the last
bytes, or sending 30 bodies past their holds at once, bypassed it).

Cassandra's ``native_transport_max_request_data_in_flight`` makes a request
over the limit wait too (its connection's reading paused, in order, until
permits return), unless the client asked for OverloadedException at STARTUP;
``java.util.concurrent.Semaphore(permits, fair=true)`` is the FIFO shape. The
wait is bounded here because an HTTP client cannot say how long it waits.

The small writes' lane (session 52). A get's record is counted once read, and one
record the cluster accepts (``max_record_bytes``, 4 MiB by default) is larger than
the derived ``max_pending_bytes`` (1,398,101 B), so while gets of a hot key of that
size run the bytes in flight stay over the limit, and every put waited its turn
and was refused 503 at the end of its wait (session 51's probe 22c: 16 readers of a
4 MiB key, 3 of 10 small ``w=3`` puts refused; 40 readers, 9 of 10). A *small
write* (a put or delete of at most :attr:`ByteAdmission.small` bytes:
``max_pending_bytes // max_pending_requests``, 1,365 B by default) is admitted at
once when it fits the bytes in flight with the gets' records set aside
(``held() - get_held() + reserved + size <= limit``, or none held but gets'),
ahead of those waiting unless a larger write waits (the FIFO that keeps a large
put from being passed by smaller ones stands). The writes' own bytes stay within
the limit; the gets' records are bounded as before (a get is admitted while the
bytes in flight are within it). A write that reads its key first (a delete with no
context, a write with ``If-Match`` or ``If-None-Match``) is admitted as the get it
starts with, not by the lane (``impl.http_api._written_at_once``; session 52's
review: admitted as small writes, 6 such deletes and 3 such puts of a 180 KB key
beside one get of it held 1.8 MB of records at a node limited to 100 KB).

The lane shuts when a write times out (session 53). A small write the lane admits
is written by its coordinator before any replica answers, so when the replicas are
saturated (their loops busy with the hot key's records) its acknowledgements come
after ``request_timeout`` and it is answered 504, outcome unknown, where waiting its
turn would have refused it 503 with nothing written (session 52's probe 22c, 8 and
16 readers: 9 of 10 and 6 of 8 small puts 504). The HTTP port reports each write
answered 504 (:meth:`ByteAdmission.shut_lane`); for ``shut_s`` seconds after it (the
node's Retry-After, as ``wait``) no small write passes the gets' records: those that do not fit
wait their turn as before session 52 and are refused 503, not written, at the end of
their wait. Left open: one write per Retry-After still tries the lane when it opens
again, and may be answered 504 while the saturation lasts.

The small writes pass the large ones waiting (session 54). Until then a small write
waited behind any larger write waiting, the FIFO that keeps a large put from being
passed by smaller ones; under large puts that keep the bytes in flight at the limit
(three ``vdynamo serve`` processes, 16 clients putting 1 MiB values through them in
turn) a 100-byte ``w=3`` put through n1 waited its turn behind each 1 MiB put queued
there, 0.48 s at the median of its 0.80 s (``bench/small_puts_beside_large.py``),
near ``request_timeout`` and Retry-After. Now a small write passes the larger
writes waiting while the small writes' own records in flight (``small_held()``,
:meth:`impl.runtime.NodeServer._small_write_bytes`) and its size fit :attr:`small_budget`
(an eighth of ``limit``), and a large write at the head sets those records aside
(at most :attr:`small_budget` of them) when it checks whether it fits: the small
writes cannot keep it waiting (the starvation session 23's review saw) and the
bytes in flight stay within ``limit + small_budget``. Cassandra 4 separates small
and large messages the same way, each with its own queue and connection
(``ConnectionType.SMALL_MESSAGES`` / ``LARGE_MESSAGES``).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["ByteAdmission"]


@dataclass(slots=True, eq=False)
class _Waiter:
    size: int
    wake: asyncio.Future[None]
    #: a put or delete (a small one may take the small writes' lane)
    write: bool = False


class ByteAdmission:
    """FIFO admission by bytes: ``held()`` gives the bytes in flight now, ``limit``
    the most admitted (a request fits when nothing is held or ``held() + size <=
    limit``), ``wait`` the seconds a request may wait for its turn. Puts go in
    order; a get (size 0) passes them while it fits and ``held()`` leaves the
    head room (session 27)."""

    def __init__(self, held: Callable[[], int], limit: int, wait: float,
                 get_held: Callable[[], int] | None = None, small: int = 0,
                 clock: Callable[[], float] = time.monotonic,
                 small_held: Callable[[], int] | None = None) -> None:
        self.held = held
        #: the bytes of ``held()`` that small writes' records hold (session 54); none:
        #: not known, a small write never passes a larger write waiting
        self.small_held = small_held
        #: bytes the small writes may hold while larger writes wait (they pass them,
        #: :meth:`_small_passes`); the head sets as many aside (:meth:`_head_fits`)
        self.small_budget = limit // 8
        #: seconds, monotonic: when the lane shut by :meth:`shut_lane` opens again
        self.clock = clock
        self.lane_shut_until = -math.inf
        #: seconds a write's timeout shuts the lane for (the node's Retry-After)
        self.shut_s = wait
        #: how many times a write's timeout shut the lane (session 53)
        self.lane_shut = 0
        self.limit = limit
        self.wait = wait
        #: the bytes of ``held()`` that gets' gathered records hold; none: not known,
        #: no small writes' lane
        self.get_held = get_held
        #: a write (put or delete) of at most this many bytes is *small*: it may pass
        #: the gets' records (:meth:`_small_passes`, session 52); 0 with ``get_held``
        #: given: only deletes and empty values
        self.small = small
        #: how many of those waiting are writes larger than :attr:`small`
        self.large_writes_waiting = 0
        #: small writes admitted by their lane though the bytes in flight did not fit
        self.small_passed = 0
        #: the requests waiting, oldest first
        self.queue: deque[_Waiter] = deque()
        #: how many of them are gets (size 0): :meth:`poke` wakes them when one fits
        self.gets_waiting = 0
        #: requests admitted after waiting, and refused at the end of their wait
        self.waited = 0
        self.expired = 0
        #: set when the node stops (:meth:`close`): every request is refused
        self.closed = False
        #: bytes of the puts admitted whose value is still being read (not yet in
        #: ``held()``): they count as in flight (:meth:`reserve`)
        self.reserved = 0
        #: seconds a reservation is held whole; then it counts what its body received
        self.hold = wait
        #: makes reservations past their hold give way (refused, their bytes let
        #: go) until ``size`` bytes fit; True if it let any go. Set by the HTTP API
        #: (:meth:`impl.http_api.HttpApi._give_way`); none: nothing gives way
        self.give_way: Callable[[int], bool] | None = None
        #: reservations past their hold made to give way to a request waiting
        self.gave_way = 0

    def fits(self, size: int) -> bool:
        """Whether a request of ``size`` bytes fits the bytes in flight now (those
        reserved included)."""
        held = self.held() + self.reserved
        return held == 0 or held + size <= self.limit

    def reserve(self, size: int) -> None:
        """Count ``size`` bytes as in flight for a put just admitted (:meth:`admit`
        True, no await since) whose value is still to be read, until
        :meth:`release`."""
        self.reserved += size

    def release(self, size: int) -> None:
        """Stop counting a reservation of ``size`` bytes (its put starts, its bytes
        now in ``held()``, or it was given up), and wake the head if it fits now."""
        self.reserved -= size
        self.poke()

    def adjust(self, change: int) -> None:
        """Move a reservation by ``change`` bytes (a body past its :attr:`hold`,
        counted by what it received), waking the head if it shrank."""
        self.reserved += change
        if change < 0:
            self.poke()

    def admits_now(self, size: int, write: bool = False) -> bool:
        """Whether a request of ``size`` bytes (``write``: a put or delete) is
        admitted without waiting: it fits and none waits before it, or it is a get
        (``size`` 0) that may pass those waiting (:meth:`_get_passes`, session 27: it
        reserves nothing), or a small write that may pass the gets' records
        (:meth:`_small_passes`, session 52). A request that cannot wait, a Forward
        or an ``Expect: 100-continue``, is refused otherwise: a put may not pass
        those waiting. Reservations past their hold give way to it when none waits
        (:attr:`give_way`)."""
        if self.closed:
            return False
        if write and self._small_passes(size):
            if self.queue or not self.fits(size):
                self.small_passed += 1
            return True
        if self.queue:
            return size == 0 and self._get_passes()
        if not self.fits(size) and self.give_way is not None:
            self.give_way(size)  # bodies past their hold yield to it as to one waiting
        return self.fits(size)

    async def admit(self, size: int, write: bool = False) -> bool:
        """Wait for the turn of a request of ``size`` bytes (``write``: a put or
        delete): True once admitted (the caller starts it before it awaits
        anything, so that it is counted before the next is looked at), False if
        its wait ended first."""
        if self.admits_now(size, write):
            return True
        loop = asyncio.get_running_loop()
        waiter = _Waiter(size, loop.create_future(), write)
        self.queue.append(waiter)
        self.gets_waiting += size == 0
        large = size > self.small
        self.large_writes_waiting += large
        deadline = loop.time() + self.wait
        try:
            while self.closed or not self._turn(waiter):
                if self.closed:
                    return False
                if self.queue[0] is waiter and self.give_way is not None and (
                        self.give_way(size)):
                    continue  # a body past its hold let its bytes go (session 25)
                left = deadline - loop.time()
                if left <= 0:
                    self.expired += 1
                    return False
                try:
                    async with asyncio.timeout(left):
                        await waiter.wake
                except TimeoutError:
                    self.expired += 1
                    return False
                waiter.wake = loop.create_future()
            self.waited += 1
            return True
        finally:
            self.queue.remove(waiter)
            self.gets_waiting -= size == 0
            self.large_writes_waiting -= large
            self.poke()

    def _turn(self, waiter: _Waiter) -> bool:
        """Whether ``waiter`` is admitted now: it is the head and fits, or is a get
        (size 0) that may pass those before it (:meth:`_get_passes`), or a small
        write whose lane is open (:meth:`_small_passes`)."""
        if waiter.write and self._small_passes(waiter.size):
            return True
        if self.queue[0] is waiter:
            return self._head_fits(waiter.size)
        return waiter.size == 0 and self._get_passes()

    def _head_fits(self, size: int) -> bool:
        """Whether the queue's head, ``size`` bytes, fits now: as :meth:`fits`, with
        the small writes' records (at most :attr:`small_budget` of them) set aside
        when they are known (session 54: small writes pass the large ones waiting,
        and may not keep them waiting in turn)."""
        if self.fits(size):
            return True
        if self.small_held is None:
            return False
        aside = min(self.small_held(), self.small_budget)
        return aside > 0 and self.held() - aside + self.reserved + size <= self.limit

    def _get_passes(self) -> bool:
        """Whether a request of size 0 may be admitted before the requests waiting
        (session 27): a get, and also a delete or a put of an empty value, none of
        which reserves bytes. It fits, and the bytes in flight, reservations aside,
        leave the head room (``held() + head's size <= limit``): the head waits for
        other puts' reservations, which a get does not add to, rather than for bytes
        that gets' records hold. Without this second test 8 clients reading a 600 KB record in
        a loop let 1 of 20 puts of 1 MiB through in 20 s (75 of 75 before gets
        passed)."""
        return self.fits(0) and self.held() + self.queue[0].size <= self.limit

    def _small_passes(self, size: int) -> bool:
        """Whether a write of ``size`` bytes may be admitted now by the small
        writes' lane (session 52): it is at most :attr:`small` bytes, the lane is
        not shut (:meth:`shut_lane`), and it fits the bytes in flight with the gets'
        records set aside (``held() - get_held() + reserved``: 0, or with ``size``
        within the limit). The writes' bytes stay within ``limit``; gets of a
        record larger than the limit no longer make every small put wait and fail
        503. While a larger write waits, a small one passes it if the small writes'
        records in flight and ``size`` fit :attr:`small_budget` (session 54;
        before, it waited behind it: never, if ``small_held`` is not known)."""
        if (self.get_held is None or size > self.small
                or self.clock() < self.lane_shut_until):
            return False
        if self.large_writes_waiting:  # passing them: within the small writes' budget
            return self.small_held is not None and self._lane_fits(
                self.small_held(), size, self.small_budget)
        return self._lane_fits(self.held() - self.get_held() + self.reserved, size)

    def shut_lane(self) -> None:
        """A write was answered 504 (its replicas did not acknowledge it in time):
        shut the small writes' lane for :attr:`shut_s` seconds (the node's
        Retry-After), so that small writes arriving while the replicas are
        saturated wait their turn and are refused 503 with nothing written, rather
        than written by the coordinator and answered 504 (session 53)."""
        self.lane_shut += 1
        self.lane_shut_until = self.clock() + self.shut_s

    def lane_shut_s(self) -> float:
        """Seconds (to 0.1 s, rounded up) until the lane :meth:`shut_lane` shut opens
        again; 0.0 when it is open (``/status``'s ``admission.lane_shut_s``; session
        53's review: ``lane_shut`` counts the shuts, not whether the lane is shut)."""
        left = self.lane_shut_until - self.clock()  # -inf: never shut
        return math.ceil(round(left * 10, 6)) / 10 if left > 0 else 0.0

    def _lane_fits(self, writes: int, size: int, room: int | None = None) -> bool:
        """Whether a small write of ``size`` bytes fits beside ``writes`` bytes of
        writes in flight (those reserved included): none, or within the limit; or,
        with ``room`` (the small writes' budget, when it passes larger writes
        waiting), within ``room`` even beside none. Session 54's review: a small
        write larger than the budget (``max_pending_requests`` under 8 makes
        :attr:`small` larger than :attr:`small_budget`) passed beside none, and the
        bytes in flight went past ``limit + small_budget``."""
        if room is not None:
            return writes + size <= room
        return writes <= 0 or writes + size <= self.limit

    def close(self) -> None:
        """Refuse the requests waiting now, and any that comes after (the node stops:
        before session 24's review a waiting request was left in the queue, and its
        connection closed under it without an answer)."""
        self.closed = True
        for waiter in self.queue:
            if not waiter.wake.done():
                waiter.wake.set_result(None)

    def poke(self) -> None:
        """Wake the queue's head if it fits now, and the gets waiting if a get may
        pass (:meth:`_get_passes`; each checks again when it runs)."""
        if not self.queue:
            return
        head = self.queue[0]
        if not head.wake.done() and self._head_fits(head.size):
            head.wake.set_result(None)
        if self.gets_waiting and self._get_passes():
            for waiter in self.queue:
                if waiter.size == 0 and not waiter.wake.done():
                    waiter.wake.set_result(None)
        if self.get_held is None or self.clock() < self.lane_shut_until:
            return
        # the first small write waiting whose lane is open (behind a large one that
        # left, or writes' bytes that fell); the bytes read once: per small write
        # waiting before (session 52's review), and poke runs on every message the
        # node handles (impl.runtime.NodeServer._perform), 500 small writes waiting
        # beside 1,000 requests in flight cost about 20 ms a message. The one woken
        # pokes again when it leaves the queue: the next one's turn. With larger
        # writes waiting, the small writes' budget decides (session 54)
        if self.large_writes_waiting:
            if self.small_held is None:
                return
            writes, room = self.small_held(), self.small_budget
        else:
            writes, room = self.held() - self.get_held() + self.reserved, self.limit
        for waiter in self.queue:
            if waiter.write and waiter.size <= self.small and not waiter.wake.done() and (
                    self._lane_fits(writes, waiter.size, room)):
                waiter.wake.set_result(None)
                break
