"""Roles, principals, password hashing and login throttling, without a server."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from aigupiao.cloud.auth import SCOPE_ROLES, LoginThrottle, Principal
from aigupiao.cloud.deps import allowed
from aigupiao.domain.users import InvalidUsername, Role, check_username
from aigupiao.store.passwords import (
    hash_password,
    needs_rehash,
    new_password,
    verify_password,
)
from aigupiao.store.repositories.auth import Scope


@pytest.mark.parametrize(
    ("role", "needed", "expected"),
    [
        (Role.VIEWER, Role.VIEWER, True),
        (Role.VIEWER, Role.TRADER, False),
        (Role.VIEWER, Role.ADMIN, False),
        (Role.TRADER, Role.VIEWER, True),
        (Role.TRADER, Role.TRADER, True),
        (Role.TRADER, Role.ADMIN, False),
        (Role.ADMIN, Role.VIEWER, True),
        (Role.ADMIN, Role.TRADER, True),
        (Role.ADMIN, Role.ADMIN, True),
    ],
)
def test_each_role_includes_the_ones_below(role: Role, needed: Role, expected: bool) -> None:
    assert role.includes(needed) is expected
    assert allowed(Principal("user", "u", role), needed) is expected


@pytest.mark.parametrize(
    ("scope", "role"), [("read", Role.VIEWER), ("trade", Role.TRADER), ("admin", Role.ADMIN)]
)
def test_an_api_key_acts_as_the_role_of_its_scope(scope: Scope, role: Role) -> None:
    assert SCOPE_ROLES[scope] is role
    key = Principal("apikey", "bot", SCOPE_ROLES[scope], scope=scope)
    assert key.actor == "apikey:bot"
    for needed in Role:
        assert allowed(key, needed) is role.includes(needed)


def test_nodes_have_no_role() -> None:
    node = Principal("node", "pc-1", None)
    assert node.actor == "node:pc-1"
    assert not allowed(node, Role.VIEWER)


def test_passwords_are_salted_argon2id_and_verify_only_themselves() -> None:
    first, second = hash_password("correct horse"), hash_password("correct horse")
    assert first.startswith("$argon2id$") and first != second  # a salt each time
    assert "correct horse" not in first
    assert verify_password(first, "correct horse") and verify_password(second, "correct horse")
    assert not verify_password(first, "correct horsf")
    assert not verify_password(first, "")
    assert not verify_password("not a hash", "correct horse")
    assert not needs_rehash(first)
    weaker = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("pw")
    assert needs_rehash(weaker) and verify_password(weaker, "pw")


def test_generated_passwords_are_long_and_different() -> None:
    passwords = {new_password() for _ in range(50)}
    assert len(passwords) == 50 and all(len(p) >= 16 for p in passwords)


@pytest.mark.parametrize("name", ["", "a b", "名字", "x" * 65, "a/b", "a;drop"])
def test_usernames_are_plain(name: str) -> None:
    with pytest.raises(InvalidUsername):
        check_username(name)


def test_usernames_accepted() -> None:
    for name in ("admin", "alice.w", "bob-2", "C_3", "x" * 64):
        assert check_username(name) == name


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_after_its_failures_a_name_waits_a_growing_delay_then_may_try_again() -> None:
    clock = FakeTime()
    throttle = LoginThrottle(per_user=3, per_address=100, window=300, clock=clock)
    for _ in range(2):
        throttle.failed("alice", "1.1.1.1")
        assert throttle.retry_after("alice", "1.1.1.1") is None  # below the limit: no wait
    throttle.failed("Alice", "2.2.2.2")  # names are compared without case
    wait = throttle.retry_after("alice", "3.3.3.3")
    assert wait is not None and wait.by == "user" and wait.failures == 3
    assert wait.seconds == pytest.approx(1)
    assert throttle.retry_after("bob", "1.1.1.1") is None  # another name does not wait
    clock.now += 1
    assert throttle.retry_after("alice", "1.1.1.1") is None  # the wait is over: try again
    delays = []
    for _ in range(8):  # each further failure doubles the wait, up to the cap
        throttle.failed("alice", "1.1.1.1")
        wait = throttle.retry_after("alice", "1.1.1.1")
        assert wait is not None
        delays.append(round(wait.seconds))
        clock.now += wait.seconds
    assert delays == [2, 4, 8, 16, 30, 30, 30, 30]
    throttle.succeeded("alice")  # the right password, once the wait was over
    assert throttle.retry_after("alice", "1.1.1.1") is None
    throttle.failed("alice", "1.1.1.1")
    assert throttle.retry_after("alice", "1.1.1.1") is None  # counting starts over


def test_an_address_trying_many_names_waits_too_and_idle_counts_are_forgotten() -> None:
    clock = FakeTime()
    throttle = LoginThrottle(per_user=3, per_address=4, window=60, delay=2, clock=clock)
    for name in ("a", "b", "c", "d"):
        throttle.failed(name, "9.9.9.9")
    wait = throttle.retry_after("e", "9.9.9.9")  # a guesser trying many names
    assert wait is not None and wait.by == "address" and wait.seconds == pytest.approx(2)
    assert throttle.retry_after("e", "8.8.8.8") is None
    clock.now += 2
    assert throttle.retry_after("e", "9.9.9.9") is None
    throttle.failed("e", "9.9.9.9")
    assert throttle.retry_after("f", "9.9.9.9").seconds == pytest.approx(4)  # type: ignore[union-attr]
    clock.now += 60  # a minute without failures: the address starts over
    throttle.failed("g", "9.9.9.9")
    assert throttle.retry_after("h", "9.9.9.9") is None


def test_never_a_lockout_a_success_clears_the_name() -> None:
    clock = FakeTime()
    throttle = LoginThrottle(per_user=3, per_address=100, window=60, clock=clock)
    throttle.failed("carol", "1.1.1.1")
    throttle.failed("carol", "1.1.1.2")
    throttle.succeeded("carol")
    throttle.failed("carol", "1.1.1.3")
    assert throttle.retry_after("carol", "1.1.1.4") is None  # 1 failure since the success
