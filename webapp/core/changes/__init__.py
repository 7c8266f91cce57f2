"""The one write path: the StateManager (manager), move checks (planning), the set-based
writer of entities, history and outbox rows (writer), cascades and derived statuses, entity
input (entities), history and time travel (history, previews).

May import: base, audit, settings, workflows, lists.
"""
