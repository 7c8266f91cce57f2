"""Grace-period sweeps: warn and inactivate quiet entities (sweep), recorded runs under the
sweep lease (runs).

May import: base, audit, settings, workflows, lists, changes, bulk.
"""
