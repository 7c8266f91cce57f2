"""Every table, importable from one place (Alembic and tests load them all here)."""
from webapp.models.approval import Approval
from webapp.models.audit import AuditCheckpoint, AuditEntry
from webapp.models.base import Base, utcnow
from webapp.models.entity import Entity, SearchWord, StatusChange
from webapp.models.entity_count import EntityCount
from webapp.models.events import Notification, OutboxEvent, WebhookDelivery, WebhookSubscription
from webapp.models.operations import BulkOperation, Lease, SweepRun
from webapp.models.settings import SettingChange, SettingOverride
from webapp.models.user import ROLES, ApiToken, User
from webapp.models.view import ListColumns, SavedView
from webapp.models.workflow import WorkflowDefinition

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
    "SavedView",
    "SearchWord",
    "SettingChange",
    "SettingOverride",
    "StatusChange",
    "SweepRun",
    "User",
    "WebhookDelivery",
    "WebhookSubscription",
    "WorkflowDefinition",
    "utcnow",
]
