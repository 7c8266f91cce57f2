"""The peer's builder: bench/bulk.py's entity as a Django model with a django-fsm-2 status.

``deactivate`` is the same move as Statekeeper's (active -> inactive), guarded like its
``min_age`` rule (at least 30 days old); django-fsm-log writes one StateLog row per change.
ConcurrentTransitionMixin makes ``save`` refuse a row whose status moved meanwhile, django-fsm's
guard against lost updates (Statekeeper checks a version).
"""
from datetime import timedelta

from django.db import models
from django.utils import timezone
from django_fsm import ConcurrentTransitionMixin, FSMField, transition
from django_fsm_log.decorators import fsm_log_by, fsm_log_description


def at_least_30_days_old(builder):
    return builder.created_at <= timezone.now() - timedelta(days=30)


class Builder(ConcurrentTransitionMixin, models.Model):
    name = models.CharField(max_length=200)
    status = FSMField(default="active", db_index=True)
    version = models.IntegerField(default=1)
    data = models.JSONField(default=dict)
    last_activity_at = models.DateTimeField()
    status_changed_at = models.DateTimeField()
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        app_label = "peerapp"

    @fsm_log_by
    @fsm_log_description
    @transition(field=status, source="active", target="inactive", conditions=[at_least_30_days_old])
    def deactivate(self, by=None, description=None):
        self.status_changed_at = timezone.now()
