"""Accounts: users, passwords (argon2), lockout and API tokens (accounts); admin edits of
users (admin).

May import: base, audit.
"""
