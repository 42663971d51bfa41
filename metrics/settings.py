"""Deployment settings, read once from the environment (prefix ``KPI_``) or a ``.env`` file.

A second council is a configuration, not a fork: set ``KPI_COUNCIL_NAME``, ``KPI_LA_CODE`` and
``KPI_DB_PATH`` (and its own pseudonymisation key). Review settings — checkpoints, targets,
tolerances — live in the store with their history (see ``metrics.reviews``).
"""

from __future__ import annotations

import datetime as dt
import getpass
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_ROOT / "data"


def _default_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # pragma: no cover - no login name in some containers
        return "cli"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KPI_", env_file=".env", extra="ignore")

    db_path: Path = Field(default=DATA_DIR / "kpi.sqlite", description="The SQLite store.")
    db_url: str | None = Field(
        default=None, description="A PostgreSQL store, postgresql://user@host/db#schema (schema default: public); "
                                  "when set it wins over KPI_DB_PATH. A path or sqlite:///path names a SQLite store.")
    councils: str | None = Field(
        default=None,
        description='Several councils in one deployment (metrics.councils, docs/deploy.md): JSON or a JSON file, '
                    'e.g. KPI_COUNCILS=\'{"884": {"name": "Herefordshire Council"}, "881": {"name": "Essex"}}\'.')
    key_file: Path | None = Field(
        default=None,
        description="Pseudonymisation key file; default: 'pseudonym.key' beside the store. Created on first run (mode 0600).",
    )
    pseudonym_key: SecretStr | None = Field(default=None, description="The key itself (overrides key_file).")
    council_name: str = Field(default="Herefordshire Council")
    la_code: str = Field(default="884", description="DfE old LA code; benchmarks follow it.")
    historic_complaints_cutoff: dt.date = Field(default=dt.date(2023, 3, 1))
    date_min: dt.date = Field(default=dt.date(1990, 1, 1),
                              description="Earliest date or month an upload may contain (a mistyped year is refused).")
    date_max: dt.date | None = Field(
        default=None, description="Latest date an upload may contain; default: one year after today (worked out "
                                  "when the file is checked). Months described never lie after the current month.")
    demo_mode: bool = Field(default=False, description="Label everything as synthetic demo data.")
    user: str = Field(default_factory=_default_user, description="Who the CLI records as uploader.")

    # Access (see docs/access.md). Sign-in is OIDC through st.login unless local mode is enabled.
    auth_mode: Literal["oidc", "local"] = Field(
        default="oidc", description="'local' = no identity provider (demo only; a banner says so).")
    roles: dict[str, str | dict[str, str]] = Field(
        default_factory=dict,
        description='Email address or group → role (viewer, uploader, admin), e.g. KPI_ROLES=\'{"ana@council.gov.uk": '
                    '"admin"}\', or → {LA code: role} per council, e.g. {"ana@dfe.gov.uk": {"884": "viewer"}}.')
    trusted_group_claims: list[str] = Field(
        default_factory=list,
        description='Sign-in claims whose values are group or role names to match against KPI_ROLES (e.g. '
                    'KPI_TRUSTED_GROUP_CLAIMS=\'["groups"]\'); none by default. Only claims your identity '
                    'provider sets, never ones users can edit.')
    local_user: str = Field(default="demo.admin@example.org", description="The identity used in local mode.")
    local_groups: list[str] = Field(default_factory=list)
    local_role: Literal["viewer", "uploader", "admin"] | None = Field(
        default="admin", description="Role of the local-mode user when KPI_ROLES does not list them.")
    show_error_details: bool = Field(default=False, description="Development only: tracebacks in the browser.")

    def date_window(self, today: dt.date | None = None) -> tuple[dt.date, dt.date]:
        """(earliest, latest) date an upload may contain, as of ``today``."""
        today = today or dt.date.today()
        try:
            year_on = today.replace(year=today.year + 1)
        except ValueError:  # 29 February
            year_on = today.replace(year=today.year + 1, day=28)
        return self.date_min, self.date_max or year_on

    @property
    def store_target(self) -> str:
        """What :func:`metrics.store.connect` opens by default: ``db_url`` if set, else ``db_path``."""
        return self.db_url or str(self.db_path)

    @property
    def resolved_key_file(self) -> Path:
        return self.key_file or self.db_path.parent / "pseudonym.key"


@lru_cache
def get_settings() -> Settings:
    return Settings()
