"""Capability checks in the core go through the one table of CONTRACT.md §4, not role names."""
from __future__ import annotations

import pytest

from tests.factories import make_user
from webapp.core.base import capabilities
from webapp.core.base.actor import SWEEPER, SYSTEM, Actor
from webapp.core.base.errors import InvalidInput
from webapp.core.users import admin as user_admin


@pytest.mark.parametrize(("role", "may"), [("admin", True), ("support", False),
                                           ("config_editor", False), ("auditor", False)])
def test_only_admins_may_force_a_move_the_workflow_forbids(role, may):
    assert Actor("someone", role).may("force") is may


def test_the_system_actors_may_do_everything():
    for capability in capabilities.CAPABILITIES:
        assert SYSTEM.may(capability) and SWEEPER.may(capability)


def test_a_misspelt_capability_is_an_error_not_a_refusal():
    with pytest.raises(ValueError, match="unknown capability"):
        Actor("ada", "admin").may("forse")


def test_the_last_user_manager_cannot_be_demoted(session, admin, clock):
    only = make_user(session, role="admin", username="only-admin")

    with pytest.raises(InvalidInput, match="last enabled administrator"):
        user_admin.change_role(session, admin, only.id, "support", clock())


def test_the_last_admin_guard_counts_every_role_the_table_lets_manage_users(
        session, admin, clock, monkeypatch):
    monkeypatch.setitem(capabilities.CAPABILITIES, "manage_users",
                        frozenset({"admin", "config_editor"}))
    only = make_user(session, role="admin", username="only-admin")
    make_user(session, role="config_editor", username="cora")

    user_admin.change_role(session, admin, only.id, "support", clock())

    assert only.role == "support"
