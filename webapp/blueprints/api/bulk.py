"""API routes for bulk (CONTRACT.md §6)."""
