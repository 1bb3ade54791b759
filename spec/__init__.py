"""Executable reference spec of Dynamo: pure, small-state, standard library only.

One module per mechanism of the paper (DeCandia et al., "Dynamo: Amazon's Highly
Available Key-value Store", SOSP 2007); docs/spec.md has the table:

* 4.1 interface, 4.5 forwarding: :mod:`spec.requests`;
* 4.2 partitioning, 4.3 replication (preference lists), 6.2 strategies:
  :mod:`spec.ring`, :mod:`spec.partitioning`;
* 4.4 versioning: :mod:`spec.vclock`, :mod:`spec.dvv`, :mod:`spec.clocks`;
* 4.5 get and put: :mod:`spec.coordination` (coordinator), :mod:`spec.replica`
  (replica), :mod:`spec.delivery` (the message table); read repair (section 5):
  :mod:`spec.read_repair`;
* 4.6 sloppy quorum and hinted handoff: :mod:`spec.coordination`,
  :mod:`spec.handoff`;
* 4.7 anti-entropy: :mod:`spec.anti_entropy`;
* 4.6/4.8 failures: :mod:`spec.faults`; deletes and reaping: :mod:`spec.deletes`;
* 4.8/4.9 membership change (joins, leaves, gossiped views, range transfers):
  :mod:`spec.membership`;
* the transition system: :mod:`spec.model` (``initial_state``, ``successors``),
  over :mod:`spec.state`, :mod:`spec.actions`, :mod:`spec.config`; readable forms
  :mod:`spec.presentation`; client symmetry :mod:`spec.symmetry`; errors
  :mod:`spec.errors`.

``VDYNAMO_COMPILED=1`` runs the modules of :data:`spec.compiled.MODULES` from a
mypyc build made by ``make compiled``, only if it was built from these very
sources (:mod:`spec.compiled`); otherwise, and by default, the pure-Python spec.
"""

import os as _os

if _os.environ.get("VDYNAMO_COMPILED") == "1":  # spec.compiled.ENV
    from spec import compiled as _compiled

    _compiled.activate()
