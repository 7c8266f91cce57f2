"""Durable delivery of what the outbox holds: dispatch to subscribers, webhooks and the
notification feed (delivery), signed webhook sending (webhooks), notifications.

May import: base, audit, settings, fields, workflows, lists, changes, sweeps, approvals, timing.
"""
