"""Shared set-up for the bench scripts: their own var dir and database, then django.setup()."""

from __future__ import annotations

import os
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
OUT = BENCH_DIR / "out"
DEFAULT_DB = OUT / "bench.sqlite3"


def configure(db_path: Path | None = None) -> str:
    """Point Clientwise at bench/out (or $DATABASE_URL) and set Django up. Returns the database URL."""
    OUT.mkdir(parents=True, exist_ok=True)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ.setdefault("CLIENTWISE_VAR_DIR", str(OUT / "var"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "clientwise.settings"
    if not os.environ.get("DATABASE_URL"):
        os.environ["DATABASE_URL"] = f"sqlite:///{db_path or DEFAULT_DB}"
    import django

    django.setup()
    return os.environ["DATABASE_URL"]


def sqlite_path() -> Path | None:
    from django.db import connection

    if connection.vendor != "sqlite":
        return None
    return Path(connection.settings_dict["NAME"])


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile of timings (NumPy's linear interpolation), for the latency benches."""
    import numpy as np

    return float(np.percentile(np.array(values), q))
