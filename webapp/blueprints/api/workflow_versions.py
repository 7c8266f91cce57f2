"""Workflow versions, diffs, drafts and publishing (CONTRACT §10)."""
