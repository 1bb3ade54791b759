"""Every proof, by name, in the order ``vdynamo prove`` runs them."""

from __future__ import annotations

import importlib

from model_check.errors import ProofError
from model_check.proofs.framework import Proof

__all__ = ["MODULES", "all_proofs"]

#: Modules that define a ``PROOFS`` tuple, in run order.
MODULES = (
    "model_check.proofs.vclock_laws",
    "model_check.proofs.dvv",
    "model_check.proofs.quorum",
    "model_check.proofs.reads",
    "model_check.proofs.join_reads",
    "model_check.proofs.ring",
    "model_check.proofs.merge",
    "model_check.proofs.invariants",
    "model_check.proofs.get_answer",
    "model_check.proofs.pruning",
    "model_check.proofs.pruning_durable",
    "model_check.proofs.pruning_resurrection",
)


def all_proofs() -> dict[str, Proof]:
    """Name -> proof for every proof of every module (a module not yet present is skipped)."""
    found: dict[str, Proof] = {}
    for module_name in MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name != module_name:
                raise
            continue
        for proof in module.PROOFS:
            if proof.name in found:
                raise ProofError(f"two proofs are named {proof.name!r}")
            found[proof.name] = proof
    return found
