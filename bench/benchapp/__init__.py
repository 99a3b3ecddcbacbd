"""Twin models for the benchmarks: one per audit tool, same fields."""
