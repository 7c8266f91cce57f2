"""The floor every core package stands on: transactions, upserts, parent/child walks, keyset
paging, event names and the outbox, named leases, errors and the actor.

Owns: nothing of the domain. May import: ``webapp.models`` only (no other core package).
"""
