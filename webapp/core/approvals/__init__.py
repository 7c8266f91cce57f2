"""Second-person approval (CONTRACT §9): a transition that names approval roles is asked for
(one entity, or a bulk run's entities at once) and another person decides. Owns the request
rows' life: asking, with what would happen (requests), deciding by re-planning through the
StateManager at that moment, and expiry (deciding), the events and their sentences (records).

May import: base, audit, settings, fields, workflows, lists, changes, bulk.
"""
