"""Who may see and change what. Pure policy: no Streamlit here, so every rule is unit-testable.

Sign-in itself is Streamlit's OIDC (``st.login``); this module turns the signed-in identity's
claims (email, groups) into a role using the configured mapping, and says which actions a role may
take. The dashboard checks :func:`require` on the server before every action, not only by hiding
pages.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import IntEnum

from metrics.settings import Settings


class Role(IntEnum):
    viewer = 1  # Commissioner, Improvement Adviser, board members: see everything, change nothing
    uploader = 2  # performance leads: upload and restore extracts, write evidence commentary
    admin = 3  # review owners: targets, checkpoints, mark final, audit trail


# action -> the least role that may take it (roles are ordered: admin ⊃ uploader ⊃ viewer)
ACTIONS: dict[str, Role] = {
    "view": Role.viewer,
    "export": Role.viewer,
    "upload": Role.uploader,
    "restore": Role.uploader,
    "evidence_edit": Role.uploader,
    "settings": Role.admin,
    "mark_final": Role.admin,
    "withdraw": Role.admin,  # the escape hatch: take a bad upload out of use (reversible by restore)
    "audit_view": Role.admin,
}

# page -> action needed to open it
PAGES: dict[str, str] = {
    "overview": "view",
    "kpi": "view",
    "reviews": "view",
    "present": "view",
    "coverage": "view",
    "about": "view",
    "upload": "upload",
    "settings": "settings",
    "audit": "audit_view",
}


class PermissionDenied(Exception):
    """Raised on the server when an identity may not take an action."""


@dataclass(frozen=True)
class Identity:
    email: str | None
    name: str | None
    groups: tuple[str, ...]
    role: Role | None
    local: bool = False  # the local demo mode, without an identity provider

    @property
    def label(self) -> str:
        return self.email or self.name or "unknown user"

    def may(self, action: str) -> bool:
        return allowed(self.role, action)


def allowed(role: Role | None, action: str) -> bool:
    if action not in ACTIONS:
        raise KeyError(f"unknown action '{action}'")
    return role is not None and role >= ACTIONS[action]


def require(identity: Identity | None, action: str) -> Identity:
    if identity is None or identity.role is None:
        raise PermissionDenied("You are not on the list of people who may use this dashboard.")
    if not allowed(identity.role, action):
        need = ACTIONS[action].name
        raise PermissionDenied(f"Your role ({identity.role.name}) may not do this; it needs the {need} role.")
    return identity


def role_map(settings: Settings) -> dict[str, Role]:
    """The configured mapping, keys lower-cased: email address or group name/id -> role."""
    raw = settings.roles
    if isinstance(raw, str):
        raw = json.loads(raw) if raw.strip() else {}
    out: dict[str, Role] = {}
    for who, role in (raw or {}).items():
        try:
            out[str(who).strip().lower()] = Role[str(role).strip().lower()]
        except KeyError:
            raise ValueError(f"roles: '{role}' for '{who}' is not a role (viewer, uploader, admin)") from None
    return out


def _claims_groups(claims: Mapping) -> tuple[str, ...]:
    groups: list[str] = []
    for key in ("groups", "roles"):
        v = claims.get(key)
        if isinstance(v, str):
            groups.append(v)
        elif isinstance(v, Iterable):
            groups.extend(str(g) for g in v)
    return tuple(groups)


def resolve(claims: Mapping | None, settings: Settings, *, local: bool = False) -> Identity | None:
    """Identity for the signed-in user's claims; role None when unlisted or claims are missing."""
    if not claims:
        return None
    email = claims.get("email") or claims.get("preferred_username") or claims.get("upn")
    email = str(email).strip().lower() if email else None
    groups = _claims_groups(claims)
    mapping = role_map(settings)
    candidates = [mapping[k] for k in ([email] if email else []) + [g.strip().lower() for g in groups] if k in mapping]
    role = max(candidates) if candidates else None
    return Identity(email=email, name=claims.get("name"), groups=groups, role=role, local=local)


def local_identity(settings: Settings) -> Identity | None:
    """The identity used in local (demo) mode: KPI_LOCAL_USER with KPI_LOCAL_GROUPS."""
    claims = {"email": settings.local_user, "groups": list(settings.local_groups)}
    ident = resolve(claims, settings, local=True)
    if ident is not None and ident.role is None and settings.local_role:
        ident = Identity(ident.email, ident.name, ident.groups, Role[settings.local_role], local=True)
    return ident
