"""Reports over history (CONTRACT §8): time in state, throughput per day, stuck
entities; read from roll-ups the workers keep current from the history table.

May import: base, settings, fields, workflows, lists.
"""
