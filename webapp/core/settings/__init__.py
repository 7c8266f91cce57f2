"""Runtime settings config editors tune: declarations, validation and the cached store
(store); changing them with history and audit (configuration).

May import: base, audit.
"""
