"""Workflows as data: definitions and static checks (definition), the file's schema (schema),
what a workflow asks of time (timing), rule kinds (rules), the workflows in force (registry),
pure edits for the editor (editing), packs (packs), and the SLA clocks every write keeps
(sla_clocks: the arithmetic; sla_keeping: the rows, called by the write path and each save).

May import: base, audit, settings, fields.
"""
