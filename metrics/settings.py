"""Deployment settings, read once from the environment (prefix ``KPI_``) or a ``.env`` file.

A second council is a configuration, not a fork: set ``KPI_COUNCIL_NAME``, ``KPI_LA_CODE`` and
``KPI_DB_PATH`` (and its own pseudonymisation key). Review settings — checkpoints, targets,
tolerances — live in the store with their history (see ``metrics.review``).
"""

from __future__ import annotations

import datetime as dt
import getpass
from functools import lru_cache
from pathlib import Path

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
    key_file: Path | None = Field(
        default=None,
        description="Pseudonymisation key file; default: 'pseudonym.key' beside the store. Created on first run (mode 0600).",
    )
    pseudonym_key: SecretStr | None = Field(default=None, description="The key itself (overrides key_file).")
    council_name: str = Field(default="Herefordshire Council")
    la_code: str = Field(default="884", description="DfE old LA code; benchmarks follow it.")
    historic_complaints_cutoff: dt.date = Field(default=dt.date(2023, 3, 1))
    demo_mode: bool = Field(default=False, description="Label everything as synthetic demo data.")
    user: str = Field(default_factory=_default_user, description="Who the CLI records as uploader.")

    @property
    def resolved_key_file(self) -> Path:
        return self.key_file or self.db_path.parent / "pseudonym.key"


@lru_cache
def get_settings() -> Settings:
    return Settings()
