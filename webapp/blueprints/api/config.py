"""API routes for config (CONTRACT.md §6)."""
