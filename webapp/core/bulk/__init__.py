"""Commands over many entities, always through changes/: requests, modes and results
(operations), per-chunk checks (plans), background jobs under a lease (jobs).

May import: base, audit, settings, workflows, lists, changes.
"""
