"""The engine and the analyses on it: the compiled durable-rules ruleset and its safe wrapper,
the verdict aggregation, assess(), missing information, what would change it, the proof that
the Python reading equals the engine, Explore's sweeps, and the tests that would settle a caution."""
