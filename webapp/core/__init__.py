"""The StateManager and its parts; imports SQLAlchemy, never Flask."""
