"""The roles (bot/accounts/roles.py): POSTER_IDS, SUPPORT_IDS and ANALYST_IDS read as
ADMIN_IDS is, a bad value named in one line; each role's permissions, their union for an
id in two lists, who gets what a permission is about, support's grant limit."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.accounts import roles
from bot.accounts.roles import SUPPORT_GRANT_DAYS, Permission, Role
from bot.core.settings import Settings, SettingsError, load_settings

TOKEN = "123456:AAH-settings-test-token-0123456789abcdef"
ROLE_SETTINGS = ("ADMIN_IDS", "POSTER_IDS", "SUPPORT_IDS", "ANALYST_IDS")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.chdir(tmp_path)


def load(**env: str) -> Settings:
    with pytest.MonkeyPatch.context() as mp:
        for name, value in {"BOT_TOKEN": TOKEN, **env}.items():
            mp.setenv(name, value)
        return load_settings(_env_file=None)


def test_the_role_lists_are_empty_by_default() -> None:
    settings = load()
    assert (settings.poster_ids, settings.support_ids, settings.analyst_ids) == ([], [], [])
    assert roles.permissions_of(1, settings) == frozenset()
    assert roles.staff_ids(settings) == ()


def test_the_role_lists_read_as_admin_ids_does() -> None:
    settings = load(POSTER_IDS=" 5, 6 ", SUPPORT_IDS="7", ANALYST_IDS="8,9", ADMIN_IDS="1")
    assert (settings.poster_ids, settings.support_ids, settings.analyst_ids) == (
        [5, 6], [7], [8, 9],
    )  # fmt: skip
    assert roles.staff_ids(settings) == (1, 5, 6, 7, 8, 9)


@pytest.mark.parametrize("name", ROLE_SETTINGS[1:])
@pytest.mark.parametrize(
    "value",
    ["1,abc", "1,,2", "²", "0", "-5", "1_000", "12345678901234567890", "٣", "1 2", ","],
)
def test_a_bad_role_list_stops_start_up_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load(**{name: value})
    message = str(caught.value)
    assert message.startswith(f"{name}: ") and "\n" not in message
    assert "Telegram user id" in message or "empty item" in message


def test_each_role_has_its_permissions_and_two_lists_their_union() -> None:
    settings = load(ADMIN_IDS="1", POSTER_IDS="2,5", SUPPORT_IDS="3,5", ANALYST_IDS="4")
    assert roles.permissions_of(1, settings) == frozenset(Permission)
    assert roles.permissions_of(2, settings) == {Permission.POST_SIGNALS}
    assert roles.permissions_of(3, settings) == {Permission.LOOK_UP, Permission.GRANT_SHORT}
    assert roles.permissions_of(4, settings) == {Permission.READ_STATS, Permission.EXPORT}
    assert roles.permissions_of(5, settings) == {
        Permission.POST_SIGNALS, Permission.LOOK_UP, Permission.GRANT_SHORT,
    }  # fmt: skip
    assert roles.roles_of(5, settings) == {Role.POSTER, Role.SUPPORT}
    for nobody in (None, 6, 0):
        assert roles.permissions_of(nobody, settings) == frozenset()
    assert roles.permission_table(settings) == {
        user_id: roles.permissions_of(user_id, settings) for user_id in (1, 2, 5, 3, 4)
    }


def test_only_owners_refund_revoke_broadcast_read_the_audit_or_confirm_mass_actions() -> None:
    owner_only = {
        Permission.GRANT, Permission.REVOKE, Permission.REFUND, Permission.BROADCAST,
        Permission.READ_AUDIT, Permission.CONFIRM_MASS,
    }  # fmt: skip
    for role, permissions in roles.ROLE_PERMISSIONS.items():
        if role is not Role.OWNER:
            assert permissions.isdisjoint(owner_only), role


def test_previews_go_to_everyone_who_may_send_them_owners_first() -> None:
    settings = load(ADMIN_IDS="9,1", POSTER_IDS="2,9", SUPPORT_IDS="3")
    assert roles.holders(settings, Permission.POST_SIGNALS) == (9, 1, 2)
    assert roles.holders(settings, Permission.LOOK_UP) == (9, 1, 3)
    assert roles.holders(load(POSTER_IDS="2"), Permission.POST_SIGNALS) == (2,)


@pytest.mark.parametrize(
    ("days", "support", "owner"),
    [(0, False, True), (1, True, True), (SUPPORT_GRANT_DAYS, True, True),
     (SUPPORT_GRANT_DAYS + 1, False, True), (3650, False, True)],
)  # fmt: skip
def test_support_grants_one_to_seven_days(days: int, support: bool, owner: bool) -> None:
    assert SUPPORT_GRANT_DAYS == 7  # the README and the refusal say so
    assert roles.grant_allowed(roles.ROLE_PERMISSIONS[Role.SUPPORT], days) is support
    assert roles.grant_allowed(roles.ROLE_PERMISSIONS[Role.OWNER], days) is owner
    assert not roles.grant_allowed(roles.ROLE_PERMISSIONS[Role.ANALYST], days)
