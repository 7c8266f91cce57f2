"""The role table of CONTRACT.md §4, checked against permissions.can."""
from __future__ import annotations

import pytest
from flask_login import AnonymousUserMixin

from webapp.models import ROLES, User
from webapp.permissions import CAPABILITIES, PUBLIC, can, requires

#: CONTRACT.md §4, row by row: which roles may.
CONTRACT = {
    "view": {"admin", "support", "config_editor", "auditor"},
    "operate": {"admin", "support"},
    "revert": {"admin", "support"},
    "force": {"admin"},  # forcing a revert or an undo the workflow forbids: admins only
    "configure": {"admin", "config_editor"},
    "edit_workflows": {"admin", "config_editor"},
    "audit": {"admin", "auditor"},
    "manage_users": {"admin"},
}


def test_the_contract_names_exactly_the_four_roles():
    assert set(ROLES) == {"admin", "support", "config_editor", "auditor"}


def test_every_capability_is_in_the_contract():
    assert set(CAPABILITIES) == set(CONTRACT)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("capability", sorted(CONTRACT))
def test_each_role_may_do_exactly_what_the_contract_says(role, capability):
    assert can(capability, User(role=role)) is (role in CONTRACT[capability])


@pytest.mark.parametrize("capability", sorted(CONTRACT))
def test_anonymous_visitors_may_do_nothing_but_public_things(capability):
    assert not can(capability, AnonymousUserMixin())
    assert can(PUBLIC, AnonymousUserMixin())


def test_a_misspelt_capability_is_caught_when_the_view_is_declared():
    with pytest.raises(ValueError, match="unknown capability"):
        requires("adminz")
