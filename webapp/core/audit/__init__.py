"""The audit log: hash-chained entries (chain), PII redaction before writing, filtered pages
and CSV (queries), archive and checkpoints (retention).

May import: base.
"""
