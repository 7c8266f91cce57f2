"""Demo data: realistic entities for the packs, set-based (seed).

May import: base, audit, settings, workflows, lists, changes.
"""
