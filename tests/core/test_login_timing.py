"""A sign-in takes as long for an unknown name or a locked account as for a wrong password,
so timing cannot tell which usernames exist (argon2 at a real cost here, not the suite's
cheapest parameters)."""
from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from argon2 import PasswordHasher

from webapp.core.base.transactions import write_transaction
from webapp.core.users import accounts

LOCKOUT = timedelta(minutes=15)


@pytest.fixture
def real_cost() -> Iterator[None]:
    """argon2id at ~20-50 ms a hash: far above the noise of the rest of a sign-in."""
    cheap = accounts.use_hasher(PasswordHasher(time_cost=2, memory_cost=16 * 1024, parallelism=1))
    yield
    accounts.use_hasher(cheap)


def seconds(attempt) -> float:
    """The fastest of three runs (the least disturbed by anything else on the machine)."""
    runs = []
    for _ in range(3):
        started = time.perf_counter()
        attempt()
        runs.append(time.perf_counter() - started)
    return min(runs)


def test_unknown_names_wrong_passwords_and_locked_accounts_take_alike_long(
        session, clock, real_cost):
    with write_transaction(session):
        accounts.create_user(session, "dana", "support", "correct-horse-42")
        accounts.create_user(session, "lena", "support", "correct-horse-42")

    def sign_in(name: str, password: str = "guess-number-1", max_failures: int = 100
                ) -> accounts.LoginResult:
        with write_transaction(session):
            return accounts.authenticate(session, name, password, clock(), max_failures, LOCKOUT)

    sign_in("lena", max_failures=1)
    assert sign_in("lena", "correct-horse-42").outcome == "locked"

    wrong = seconds(lambda: sign_in("dana"))
    unknown = seconds(lambda: sign_in("nobody"))
    locked = seconds(lambda: sign_in("lena", "correct-horse-42"))

    assert unknown > wrong / 2
    assert locked > wrong / 2
