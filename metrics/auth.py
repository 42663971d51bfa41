"""Who may see and change what. Pure policy: no Streamlit here, so every rule is unit-testable.

Sign-in itself is Streamlit's OIDC (``st.login``); this module turns the signed-in identity's
verified claims (a verified email, trusted group claims — see :func:`resolve`) into a role using the
configured mapping, and says which actions a role may
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
    uploader = 2  # performance leads: upload and restore extracts, write evidence commentary and actions
    admin = 3  # review owners: targets, checkpoints, mark final, audit trail


# action -> the least role that may take it (roles are ordered: admin ⊃ uploader ⊃ viewer)
ACTIONS: dict[str, Role] = {
    "view": Role.viewer,
    "export": Role.viewer,
    "upload": Role.uploader,
    "restore": Role.uploader,
    "evidence_edit": Role.uploader,
    "actions_edit": Role.uploader,  # the actions log (metrics.actions): add actions and their updates
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
    subject: str | None = None  # the provider's stable id for the user (``sub``)
    #: (LA code, role) for every council this identity may see, in configuration order; ``role`` above is
    #: the role at the council being used (``council``). An unlisted council is not here: it is invisible.
    councils: tuple[tuple[str, Role], ...] = ()
    council: str | None = None

    @property
    def label(self) -> str:
        """Who, for pages and the audit trail: the verified email, else the name with the provider's id
        (a display name alone is not unique)."""
        if self.email:
            return self.email
        if self.name and self.subject:
            return f"{self.name} ({self.subject})"
        return self.name or self.subject or "unknown user"

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


def _role(role, who: str, where: str = "") -> Role:
    try:
        return Role[str(role).strip().lower()]
    except KeyError:
        raise ValueError(f"roles: '{role}' for '{who}'{where} is not a role (viewer, uploader, admin)") from None


def council_roles(settings: Settings) -> dict[str, dict[str, Role]]:
    """The configured mapping, keys lower-cased: email address or group name/id -> {LA code: role}.

    ``KPI_ROLES`` gives each user or group a role (valid only when exactly one council is configured: it
    is that council's) or ``{LA code: role}``. A council the mapping does not name is invisible to them."""
    from metrics.councils import LA_CODE, configured

    codes = [c.code for c in configured(settings)]
    raw = settings.roles
    if isinstance(raw, str):
        raw = json.loads(raw) if raw.strip() else {}
    out: dict[str, dict[str, Role]] = {}
    for who, role in (raw or {}).items():
        if isinstance(role, Mapping):
            per: dict[str, Role] = {}
            for code, r in role.items():
                code = str(code).strip()
                if not LA_CODE.fullmatch(code):
                    raise ValueError(f"roles: '{code}' for '{who}' is not a DfE LA code (three digits, e.g. 884)")
                if code not in codes:
                    raise ValueError(f"roles: '{who}' is given a role at council {code}, but there is no council "
                                     f"{code} in this deployment (configured: {', '.join(codes)})")
                per[code] = _role(r, who, f" at {code}")
        elif len(codes) == 1:
            per = {codes[0]: _role(role, who)}
        else:
            raise ValueError(f"roles: '{who}' has the role '{role}' but several councils are configured "
                             f"({', '.join(codes)}): give {{LA code: role}}, e.g. {{\"{codes[0]}\": \"{role}\"}}")
        out[str(who).strip().lower()] = per
    return out


def role_map(settings: Settings, council: str | None = None) -> dict[str, Role]:
    """Email address or group name/id -> role at ``council`` (default: the only council)."""
    from metrics.councils import configured

    if council is None:
        codes = [c.code for c in configured(settings)]
        council = codes[0] if len(codes) == 1 else None
    return {who: per[council] for who, per in council_roles(settings).items() if council in per}


def _verified_email(claims: Mapping) -> str | None:
    """The ``email`` claim, only when the provider says it verified it (``email_verified`` true).

    Never ``preferred_username``/``upn``: those are names the user or a tenant admin can choose, not
    addresses the provider has verified."""
    email, verified = claims.get("email"), claims.get("email_verified")
    if not isinstance(email, str) or not email.strip():
        return None
    if verified is True or (isinstance(verified, str) and verified.strip().lower() == "true"):
        return email.strip().lower()
    return None


def _claims_groups(claims: Mapping, names: Iterable[str]) -> tuple[str, ...]:
    """The values of the group/role claims named in ``names`` (the ones configured as trusted)."""
    groups: list[str] = []
    for key in names:
        v = claims.get(key)
        if isinstance(v, str):
            groups.append(v)
        elif isinstance(v, Iterable):
            groups.extend(str(g) for g in v)
    return tuple(groups)


def _is_email_key(key: str) -> bool:
    return "@" in key


def resolve(claims: Mapping | None, settings: Settings, *, local: bool = False,
            council: str | None = None) -> Identity | None:
    """Identity for the signed-in user's claims; role None when unlisted or claims are missing.

    Roles come only from verified claims: the ``email`` when ``email_verified`` is true, matched
    against the email addresses in ``KPI_ROLES``; and the values of the claims named in
    ``KPI_TRUSTED_GROUP_CLAIMS``, matched only against the group names in ``KPI_ROLES`` (keys
    without '@') — so a ``roles`` claim holding an admin's address grants nothing. In local mode the
    claims come from the operator's own settings and are taken as verified.

    ``council`` (an LA code) is the council being used; ``role`` is the role there (None: the council is
    not theirs, or — with several councils and none named — no council is chosen). ``councils`` lists the
    councils they may see with their role at each.
    """
    if not claims:
        return None
    if local:
        email = str(claims.get("email") or "").strip().lower() or None
        groups = _claims_groups(claims, ("groups",))
    else:
        email = _verified_email(claims)
        groups = _claims_groups(claims, settings.trusted_group_claims)
    from metrics.councils import configured

    mapping = council_roles(settings)
    wanted = {g.strip().lower() for g in groups}
    mine = [per for key, per in mapping.items()
            if (_is_email_key(key) and key == email) or (not _is_email_key(key) and key in wanted)]
    codes = [c.code for c in configured(settings)]
    roles = tuple((code, max(per[code] for per in mine if code in per)) for code in codes
                  if any(code in per for per in mine))
    if council is None and len(codes) == 1:
        council = codes[0]
    role = dict(roles).get(council) if council is not None else None
    name, sub = claims.get("name"), claims.get("sub")
    return Identity(email=email, name=str(name) if name else None, groups=groups, role=role, local=local,
                    subject=str(sub) if sub else None, councils=roles, council=council)


def local_identity(settings: Settings, council: str | None = None) -> Identity | None:
    """The identity used in local (demo) mode: KPI_LOCAL_USER with KPI_LOCAL_GROUPS. Unlisted in KPI_ROLES,
    they have KPI_LOCAL_ROLE at every council (local mode is for demonstrations only)."""
    from dataclasses import replace

    from metrics.councils import configured

    claims = {"email": settings.local_user, "groups": list(settings.local_groups)}
    ident = resolve(claims, settings, local=True, council=council)
    if ident is not None and not ident.councils and settings.local_role:
        role = Role[settings.local_role]
        ident = replace(ident, councils=tuple((c.code, role) for c in configured(settings)),
                        role=role if ident.council is not None and any(
                            c.code == ident.council for c in configured(settings)) else None)
    return ident
