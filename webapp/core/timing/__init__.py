"""Time (CONTRACT §8): the SLA readings the entity JSON and pages show (slas) and their alerts,
raised once per clock (sla_alerts); timers that take a state's timeout transition when due
(timers); scheduled transitions (schedules); each run by the workers under a lease. The clocks
themselves are kept by every write in workflows/sla_keeping.py, where the write path and the
workflow save can reach them.

May import: base, audit, settings, fields, workflows, lists, changes, bulk, approvals.
"""
