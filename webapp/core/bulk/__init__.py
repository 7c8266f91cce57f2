"""Commands over many entities, always through changes/: a request and its result (request),
running it chunk by chunk in its modes (operations), what it leaves on record (records),
per-chunk checks (plans), background jobs under a lease (jobs).

May import: base, audit, settings, fields, workflows, lists, changes.
"""
