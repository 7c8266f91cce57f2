"""The floor every core package stands on: transactions, upserts, parent/child walks, keyset
paging, event names and the outbox, named leases, errors, the actor and its capabilities,
wording (labels, plurals), the one CSV writer, input bounds (bounds: the one JSON decoder and
time parser for untrusted input) and the form of sealed values (sealed).

Owns: nothing of the domain. May import: ``webapp.models`` only (no other core package).
"""
