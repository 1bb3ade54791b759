"""Storage engines: in-memory and SQLite, behind one interface (impl.storage.base)."""
