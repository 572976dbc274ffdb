"""Who may do what: the roles (ADMIN_IDS and the lists below it) and each one's permissions.

Pure: every chat command, button and Mini App route asks `permissions_of` (docs/roles.md
has the table). An id in several lists has the union of their permissions.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

from bot.core.settings import Settings

# The most days of access a SUPPORT_IDS member may give with /grant (owners: up to 3650).
SUPPORT_GRANT_DAYS = 7


class Permission(enum.StrEnum):
    """One per kind of action; the Mini App gets the caller's as these names (/api/v1/me)."""

    POST_SIGNALS = "post_signals"  # /signal, pasted, /update, previews, composer, outcomes
    LOOK_UP = "look_up"  # /user, the Mini App's people search and timeline
    GRANT_SHORT = "grant_short"  # /grant of 1..SUPPORT_GRANT_DAYS days
    GRANT = "grant"  # /grant of any length, and /grant 0 (takes it back)
    REVOKE = "revoke"  # /revoke
    REFUND = "refund"  # /refund, its button, the Mini App's refund
    BROADCAST = "broadcast"  # /broadcast
    READ_STATS = "read_stats"  # /stats, the Mini App's statistics
    EXPORT = "export"  # the Mini App's CSV downloads but the audit log's
    READ_AUDIT = "read_audit"  # /audit, the Mini App's audit log, its CSV
    CONFIRM_MASS = "confirm_mass"  # the button that lets a held mass removal or expiry go


class Role(enum.StrEnum):
    OWNER = "owner"  # ADMIN_IDS
    POSTER = "poster"  # POSTER_IDS
    SUPPORT = "support"  # SUPPORT_IDS
    ANALYST = "analyst"  # ANALYST_IDS


ROLE_PERMISSIONS: Mapping[Role, frozenset[Permission]] = {
    Role.OWNER: frozenset(Permission),
    Role.POSTER: frozenset({Permission.POST_SIGNALS}),
    Role.SUPPORT: frozenset({Permission.LOOK_UP, Permission.GRANT_SHORT}),
    Role.ANALYST: frozenset({Permission.READ_STATS, Permission.EXPORT}),
}


def role_ids(settings: Settings) -> dict[Role, tuple[int, ...]]:
    """Each role's Telegram ids in the configured order, without repeats."""
    lists = {
        Role.OWNER: settings.admin_ids,
        Role.POSTER: settings.poster_ids,
        Role.SUPPORT: settings.support_ids,
        Role.ANALYST: settings.analyst_ids,
    }
    return {role: tuple(dict.fromkeys(ids)) for role, ids in lists.items()}


def roles_of(user_id: int | None, settings: Settings) -> frozenset[Role]:
    if user_id is None:
        return frozenset()
    return frozenset(role for role, ids in role_ids(settings).items() if user_id in ids)


def permissions_of(user_id: int | None, settings: Settings) -> frozenset[Permission]:
    """What `user_id` may do: the union over their roles (nothing for anyone else)."""
    allowed: set[Permission] = set()
    for role in roles_of(user_id, settings):
        allowed |= ROLE_PERMISSIONS[role]
    return frozenset(allowed)


def permission_table(settings: Settings) -> dict[int, frozenset[Permission]]:
    """`permissions_of` for every staff member at once, for a check on every update (the
    settings do not change while the process runs)."""
    return {user_id: permissions_of(user_id, settings) for user_id in staff_ids(settings)}


def may(user_id: int | None, settings: Settings, *needed: Permission) -> bool:
    """Whether `user_id` holds any one of `needed`."""
    return not permissions_of(user_id, settings).isdisjoint(needed)


def is_staff(user_id: int | None, settings: Settings) -> bool:
    """In any of the role lists."""
    return bool(roles_of(user_id, settings))


def holders(settings: Settings, permission: Permission) -> tuple[int, ...]:
    """Everyone who holds `permission`, owners first, each once (who gets what it is about:
    a TradingView alert's preview goes to everyone who may send it)."""
    found: dict[int, None] = {}
    for role, ids in role_ids(settings).items():
        if permission in ROLE_PERMISSIONS[role]:
            found.update(dict.fromkeys(ids))
    return tuple(found)


def staff_ids(settings: Settings) -> tuple[int, ...]:
    """Everyone in a role list, owners first, each once."""
    found: dict[int, None] = {}
    for ids in role_ids(settings).values():
        found.update(dict.fromkeys(ids))
    return tuple(found)


def grant_allowed(permissions: frozenset[Permission], days: int) -> bool:
    """/grant DAYS: any length with GRANT; 1..SUPPORT_GRANT_DAYS with GRANT_SHORT (0 takes
    access back, which is a revocation: not theirs)."""
    if Permission.GRANT in permissions:
        return True
    return Permission.GRANT_SHORT in permissions and 1 <= days <= SUPPORT_GRANT_DAYS
