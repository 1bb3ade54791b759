"""Model checker, properties, traces, Z3 proofs and the refinement mapping."""
