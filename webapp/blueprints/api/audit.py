"""API routes for audit (CONTRACT.md §6)."""
