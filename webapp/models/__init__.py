"""Every table, importable from one place (Alembic and tests load them all here)."""
from webapp.models.approval import Approval
from webapp.models.audit import AuditCheckpoint, AuditEntry
from webapp.models.base import Base, utcnow
from webapp.models.entity import Entity, SearchableField, SearchWord, StatusChange
from webapp.models.entity_count import EntityCount
from webapp.models.events import Notification, OutboxEvent, WebhookDelivery, WebhookSubscription
from webapp.models.operations import BulkOperation, Lease, SweepRun
from webapp.models.report import (
    ReportStateDay,
    ReportStayBucket,
    ReportStayTotal,
    ReportWatermark,
)
from webapp.models.scheduled_setting import ScheduledSettingChange
from webapp.models.settings import SettingChange, SettingOverride
from webapp.models.sla import SlaClock
from webapp.models.timing import ScheduledTransition, TimerAttempt
from webapp.models.user import ROLES, ApiToken, User
from webapp.models.view import ListColumns, SavedView
from webapp.models.workflow import WorkflowDefinition
from webapp.models.workflow_version import WorkflowDraft, WorkflowVersion

__all__ = [
    "ROLES",
    "ApiToken",
    "Approval",
    "AuditCheckpoint",
    "AuditEntry",
    "Base",
    "BulkOperation",
    "Entity",
    "EntityCount",
    "Lease",
    "ListColumns",
    "Notification",
    "OutboxEvent",
    "ReportStateDay",
    "ReportStayBucket",
    "ReportStayTotal",
    "ReportWatermark",
    "SavedView",
    "ScheduledSettingChange",
    "ScheduledTransition",
    "SearchWord",
    "SearchableField",
    "SettingChange",
    "SettingOverride",
    "SlaClock",
    "StatusChange",
    "SweepRun",
    "TimerAttempt",
    "User",
    "WebhookDelivery",
    "WebhookSubscription",
    "WorkflowDefinition",
    "WorkflowDraft",
    "WorkflowVersion",
    "utcnow",
]
