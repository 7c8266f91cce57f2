"""Safe change of workflows (CONTRACT §10): numbered versions and their diffs, drafts
checked against live data, publishing with a mapping of stranded states (the move runs
through the bulk machinery, source ``migration``), rollback by publishing an old version.

May import: base, audit, settings, fields, workflows, lists, changes, bulk.
"""
