"""Z3 proofs of vdynamo's algebra and of the spec's inductive invariants.

Each proof states a property, proves it with Z3 (its negation is unsat), and has a
broken twin that Z3 must refute with a readable counterexample; see
:mod:`model_check.proofs.framework`. ``vdynamo prove`` runs them
(:mod:`model_check.proofs.cli`).
"""

from model_check.proofs.framework import (
    Outcome as Outcome,
)
from model_check.proofs.framework import (
    Proof as Proof,
)
from model_check.proofs.framework import (
    ProofResult as ProofResult,
)
from model_check.proofs.framework import (
    Query as Query,
)
from model_check.proofs.framework import (
    Verdict as Verdict,
)
from model_check.proofs.framework import (
    run_proof as run_proof,
)
from model_check.proofs.registry import all_proofs as all_proofs

__all__ = ["Outcome", "Proof", "ProofResult", "Query", "Verdict", "all_proofs", "run_proof"]
