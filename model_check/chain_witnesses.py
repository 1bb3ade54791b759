"""The sometimes-witnesses of clients that chain a put's answered context (session 60;
``workload.chain_puts``, :func:`spec.coordination.answered`).

Not a mechanism of the paper: two state predicates of :mod:`model_check.properties`
(``SOMETIMES``), each saying that what a chaining configuration exists to check is
*reached*, so that its always-verdicts are not vacuous: a client's write carries the
context its own acknowledged put answered (:func:`write_after_own_write`), and a dvv
put past an unread value of its own pair mints under a fresh pair ``"<actor>/<k>
<client>"`` (:func:`fresh_pair_minted`; :func:`spec.dvv.dot_actor`, session 59). The
rule before session 59 (a named client's put past its pair's unread value minted under
the server's actor) is told apart by the always-properties of the chaining suite
entries (``sibling_bound``, ``no_false_concurrency``: docs/spec.md, "Clients that
chain a put's context (session 60)"); these witnesses say the entries reach the case.

Each is asked only in the configurations its ``possible`` test allows
(:func:`chains`, :func:`chains_dvv`), so no verdict of an earlier entry moves, and is
false in every other configuration (a gate must rule out only what cannot hold:
``tests/model_check/test_packed_properties.py``; a get's context reaches both cases
too, a read-back of the client's own write and the kv679 entries' fresh pairs).
Raises nothing.
"""

from __future__ import annotations

import re

from spec.clocks import dominates
from spec.config import Config
from spec.state import State

__all__ = ["chains", "chains_dvv", "fresh_pair_minted", "write_after_own_write"]

#: the actor part of a fresh pair's id: ``<actor>/<k>`` (:func:`spec.vclock.client_entry`)
_FRESH = re.compile(r"/[0-9]+$")


def chains(config: Config) -> bool:
    """Whether ``config``'s clients chain their puts' answered contexts."""
    return config.chain_puts


def chains_dvv(config: Config) -> bool:
    """Whether ``config`` chains puts in the dvv clock mode (fresh pairs are dvv's)."""
    return config.chain_puts and config.clock == "dvv"


def write_after_own_write(state: State) -> bool:
    """With ``workload.chain_puts``: a put's true history holds an earlier put of its
    own client, and its clock dominates that put's (:func:`spec.clocks.dominates`: a
    write carried the context its client's put was answered with, or a get's that
    returned it). Without the clock (the ghost history alone, until session 60's
    review) the witness held under a spec whose acknowledgements answered an empty
    context (``spec.clocks.answered_context`` -> ``()``): found at depth 4 in
    dvv-chain-two-clients, now not found there."""
    if not chains(state.config):
        return False
    puts = state.puts
    for record in puts:
        if record is None or len(record.history) < 2:
            continue
        for v in record.history:
            other = puts[v - 1]
            if (v != record.put_id and other is not None and other.client == record.client
                    and dominates(record, other)):
                return True
    return False


def fresh_pair_minted(state: State) -> bool:
    """A dvv put was minted under a fresh pair ``"<actor>/<k> <client>"`` (its pair
    ``"<actor> <client>"`` held a value the put's context missed), with
    ``workload.chain_puts``."""
    if not chains_dvv(state.config):
        return False
    for record in state.puts:
        if record is None or " " not in record.dot[0]:
            continue
        if _FRESH.search(record.dot[0].split(" ", 1)[0]):
            return True
    return False
