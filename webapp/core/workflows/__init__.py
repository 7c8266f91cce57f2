"""Workflows as data: definitions and static checks (definition), rule kinds (rules), the
workflows in force (registry), pure edits for the editor (editing) and packs (packs).

May import: base, audit, settings.
"""
