"""The peer's one Django app: a builder with a django-fsm-2 status (see ../django_peer.py)."""
