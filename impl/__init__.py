"""Production Dynamo node: sans-IO core, storage engines, deterministic simulator."""
