"""Backups that restore: the database and the files Clientwise keeps, in one folder, checked row by row.

`backup(dest)` writes `<dest>/clientwise-<UTC stamp>/` with

- `database.sqlite3` (SQLite's online backup API: a consistent copy while the app keeps running) or
  `database.pgdump` (`pg_dump --format=custom` from an exported snapshot, so the dump and the row counts below see
  the same instant while writes go on);
- `files.tar.gz`: ticket attachments, uploaded import files and trained label models under the var folder
  (analytics snapshots and collected static files are left out: scoring and `collectstatic` rebuild them);
- `manifest.json`: when, the engine, the applied migrations and the row count of every table.

`restore(src)` loads such a folder into the configured database (it refuses a database that already holds
customers unless `force`), unpacks the files, and compares every table's row count with the manifest; any
difference is an error. SQLite backups restore to SQLite and PostgreSQL dumps to PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder

from clientwise.core.errors import DomainError, ErrorCode

FILE_DIRS = ("service/attachments", "imports", "labels")  # under settings.VAR_DIR
MANIFEST = "manifest.json"


@dataclass
class BackupResult:
    path: Path
    engine: str
    tables: dict[str, int]
    files: int


@dataclass
class RestoreResult:
    path: Path
    tables: dict[str, int]
    files: int
    mismatches: dict[str, tuple[int, int]] = field(default_factory=dict)  # table: (expected, found)


def _engine() -> str:
    vendor = connection.vendor
    if vendor not in ("sqlite", "postgresql"):
        raise DomainError(ErrorCode.INVALID, f"Backups support SQLite and PostgreSQL, not {vendor}.")
    return vendor


def _tables() -> list[str]:
    return sorted(connection.introspection.table_names())


def _count_all(cursor, tables: list[str]) -> dict[str, int]:
    quote = connection.ops.quote_name
    out = {}
    for table in tables:
        cursor.execute(f"SELECT COUNT(*) FROM {quote(table)}")  # noqa: S608 - names from introspection
        out[table] = cursor.fetchone()[0]
    return out


def _pg_connection() -> dict[str, str]:
    """The configured PostgreSQL database's host, port, user, name and password, with the defaults filled in."""
    s = connection.settings_dict
    return {"host": s.get("HOST") or "127.0.0.1", "port": str(s.get("PORT") or 5432),
            "user": s.get("USER") or "postgres", "dbname": s["NAME"], "password": s.get("PASSWORD") or ""}


def _pg_params() -> tuple[list[str], dict[str, str]]:
    """Connection options for pg_dump / pg_restore (the password through the environment)."""
    c = _pg_connection()
    args = ["--host", c["host"], "--port", c["port"], "--username", c["user"], "--dbname", c["dbname"]]
    env = {**os.environ}
    if c["password"]:
        env["PGPASSWORD"] = c["password"]
    return args, env


def _run(cmd: list[str], env: dict[str, str]) -> None:
    if shutil.which(cmd[0]) is None:
        raise DomainError(ErrorCode.INVALID, f"{cmd[0]} is not installed (PostgreSQL client tools are needed).")
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise DomainError(ErrorCode.INVALID, f"{cmd[0]} failed: {done.stderr.strip()[:500]}")


def _applied_migrations() -> list[list[str]]:
    return [[app, name] for app, name in MigrationRecorder(connection).migration_qs.order_by("app", "name")
            .values_list("app", "name")]


def _pack_files(out: Path) -> int:
    var = Path(settings.VAR_DIR)
    count = 0
    with tarfile.open(out, "w:gz") as tar:
        for rel in FILE_DIRS:
            folder = var / rel
            if folder.is_dir():
                for path in sorted(folder.rglob("*")):
                    if path.is_file():
                        tar.add(path, arcname=str(path.relative_to(var)))
                        count += 1
    return count


def backup(dest: str | Path, *, now: dt.datetime | None = None) -> BackupResult:
    """Write a backup folder under `dest`; returns where and what it holds."""
    engine = _engine()
    stamp = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%d-%H%M%S")
    folder = Path(dest) / f"clientwise-{stamp}"
    folder.mkdir(parents=True, exist_ok=False)
    tables = _tables()
    try:
        if engine == "sqlite":
            target = folder / "database.sqlite3"
            connection.ensure_connection()
            with sqlite3.connect(target) as copy:
                connection.connection.backup(copy)
            with sqlite3.connect(target) as copy:
                counts = _count_all(copy.cursor(), tables)
            copy.close()
        else:
            counts = _pg_dump(folder / "database.pgdump", tables)
        files = _pack_files(folder / "files.tar.gz")
        manifest = {"format": 1, "created_at": dt.datetime.now(dt.UTC).isoformat(), "engine": engine,
                    "migrations": _applied_migrations(), "tables": counts, "files": files}
        (folder / MANIFEST).write_text(json.dumps(manifest, indent=1, ensure_ascii=False))
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)  # never leave a half backup that looks whole
        raise
    return BackupResult(folder, engine, counts, files)


def _pg_dump(out: Path, tables: list[str]) -> dict[str, int]:
    """pg_dump from a snapshot exported by a REPEATABLE READ transaction that counts the rows of the same instant."""
    # psycopg (a heavy driver, needed only on PostgreSQL) stays off the start-up path.
    import psycopg

    c = _pg_connection()
    dsn = psycopg.conninfo.make_conninfo(**{**c, "password": c["password"] or None})
    with psycopg.connect(dsn) as conn:
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]
        counts = {}
        for table in tables:
            counts[table] = conn.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]  # noqa: S608
        args, env = _pg_params()
        _run(["pg_dump", *args, "--format=custom", "--no-owner", "--no-privileges", f"--snapshot={snapshot}",
              "--file", str(out)], env)
        conn.rollback()
    return counts


def read_manifest(src: str | Path) -> dict:
    path = Path(src) / MANIFEST
    if not path.is_file():
        raise DomainError(ErrorCode.INVALID, f"{src} is not a Clientwise backup (no {MANIFEST}).")
    return json.loads(path.read_text())


def restore(src: str | Path, *, force: bool = False) -> RestoreResult:
    """Load a backup folder into the configured database and var folder, then check every table's row count."""
    src = Path(src)
    manifest = read_manifest(src)
    engine = _engine()
    if manifest.get("engine") != engine:
        raise DomainError(ErrorCode.INVALID, f"This is a {manifest.get('engine')} backup; the configured database "
                          f"is {engine}.")
    if not force and "customers_customer" in _tables():
        with connection.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM customers_customer")
            if cursor.fetchone()[0]:
                raise DomainError(ErrorCode.CONFLICT, "The database already holds customers; restore with --force "
                                  "to replace everything in it.")
    if engine == "sqlite":
        # The backup API copies every page into the live database in one step (readers see before or after).
        connection.ensure_connection()
        with sqlite3.connect(src / "database.sqlite3") as source:
            source.backup(connection.connection)
        source.close()
    else:
        connection.close()
        args, env = _pg_params()
        _run(["pg_restore", *args, "--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction",
              str(src / "database.pgdump")], env)
    files = 0
    archive = src / "files.tar.gz"
    if archive.is_file():
        var = Path(settings.VAR_DIR)
        with tarfile.open(archive, "r:gz") as tar:
            members = [m for m in tar.getmembers() if m.isfile()]
            tar.extractall(var, members=members, filter="data")  # "data": no absolute paths, links or escapes
            files = len(members)
    with connection.cursor() as cursor:
        found = _count_all(cursor, sorted(manifest["tables"]))
    mismatches = {t: (n, found.get(t, -1)) for t, n in manifest["tables"].items() if found.get(t) != n}
    return RestoreResult(src, found, files, mismatches)
