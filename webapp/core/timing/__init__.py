"""Time (CONTRACT §8): SLA clocks per entity kept by the write path and their alerts
(slas, sla_alerts), timers that take a state's timeout transition when due (timers), and
scheduled transitions (schedules), each run by the workers under a lease.

May import: base, audit, settings, fields, workflows, lists, changes, bulk, approvals.
"""
