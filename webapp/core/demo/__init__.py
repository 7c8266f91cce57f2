"""Demo data: realistic entities for the packs, set-based (seed), their declared fields filled
with realistic values (named: by field name; values: from the spec alone, and the pieces).

May import: base, audit, settings, fields, workflows, lists, changes.
"""
