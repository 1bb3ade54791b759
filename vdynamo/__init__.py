"""vdynamo: Dynamo as a verified system. Public API re-exports (filled as layers land)."""
