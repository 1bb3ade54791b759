"""When a ``vdynamo.connect`` client names itself (session 47's review of the data
probe's fix 3, :meth:`impl.http_client.Router.client_header`).

The fix sends a random ``X-Vdynamo-Client`` with a client's writes when the
cluster's ``/status`` says the clock is dvv, so that a client chaining its puts'
contexts over siblings it never read supersedes its own puts
(tests/runtime/test_client_chained_puts_dvv.py). Two things that test did not hold:

- In the vector-clock modes the name was not sent (the fix's reason: a named client's
  blind puts would be one client's and supersede each other). Here one client's two
  blind puts in client-vclock are both kept. The mutant sending the name in every
  mode lived: in the review's runs it changed nothing (client-vclock and
  server-vclock, 1 and 3 nodes: two blind puts ``[x, y]`` and ``[y]``, a stale
  context's put beside the later write ``[j1, other]`` and ``[j1]``, the same with
  and without the name), so that reason was not seen; this test holds the value.
  Since session 48's data probe the name is sent in client-vclock too (unnamed, a
  client's read-modify-writes grew the clock a pair each, and truncation brought
  superseded values back: tests/runtime/test_client_vclock_sequential_client.py),
  and this test runs with it.
- The clock is learned from a node's ``/status``: a client whose first node does
  not answer learns it from the next one, and names itself all the same. Mutants
  checked: no name sent, or the clock never learned -> ``[a, b, c0, c1, c2]`` (in
  dvv, until session 58). From session 58 to 59 a node took every dvv write as the
  shared id, and since session 59 every client's put past its pair's unread value
  takes a fresh pair (tests/runtime/test_dvv_named_client_chains.py), so in dvv the
  name no longer shows: the test runs in client-vclock, where the name is the clock's
  entry, and checks that the chain's contexts do not grow. Mutants (session 58):
  no name sent, or the clock never learned -> contexts of 92, 160, 224, ...
  characters (a fresh client a put), where named they stay at one size.

One node on loopback each (N = 1: every put coordinated by it, as the library
routes a key to its first node), bounded, every process stopped."""

from __future__ import annotations

from pathlib import Path

import vdynamo
from tests.runtime.procs import FAST_UP, cluster_up, http
from vdynamo.cluster_cli import _free_ports

ONE = ("--nodes", "1", "--n", "1", "--r", "1", "--w", "1", *FAST_UP)


def test_one_clients_blind_puts_in_client_vclock_are_both_kept(tmp_path: Path) -> None:
    directory = tmp_path / "c"
    with cluster_up(directory, *ONE, "--set", 'clock="client-vclock"'), \
            vdynamo.connect([http(directory, "n1")]) as db:
        db.put("k", b"x")
        db.put("k", b"y")  # blind again: concurrent with x, not a successor of it
        assert sorted(db.get("k").values) == [b"x", b"y"]


def test_a_client_whose_first_node_is_down_names_itself(tmp_path: Path) -> None:
    directory = tmp_path / "c"
    with cluster_up(directory, *ONE, "--set", 'clock="client-vclock"'):
        url = http(directory, "n1")
        dead = f"http://127.0.0.1:{_free_ports(1, set())[0]}"
        with vdynamo.connect([url]) as alice, vdynamo.connect([url]) as bob, \
                vdynamo.connect([dead, url]) as carol:
            alice.put("cart", b"a")
            bob.put("cart", b"b")
            context, sizes = None, []
            for i in range(3):  # unnamed: a fresh client a put, its context a pair longer
                context = carol.put("cart", b"c%d" % i, context=context)
                sizes.append(len(context))
            assert sorted(carol.get("cart").values) == [b"a", b"b", b"c2"]
            assert len(set(sizes)) == 1, sizes
