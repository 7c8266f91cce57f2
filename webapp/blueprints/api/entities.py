"""Entity routes (filled in with the core)."""
