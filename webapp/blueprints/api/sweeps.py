"""API routes for sweeps (CONTRACT.md §6)."""
