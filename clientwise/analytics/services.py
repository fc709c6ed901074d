"""Scoring runs: the only code that writes ScoringBatch, ModelRun and CustomerScore rows.

`run_scoring` extracts a snapshot, computes features and models (pipeline.py) and writes one CustomerScore per
customer plus one ModelRun per model. All rows of a batch, its ModelRuns and the switch of the current batch
are committed in ONE transaction: readers see either the previous batch or the complete new one, never a
mix, and a failure at any point leaves the previous batch current. Rows go in with a prepared executemany
(SQLite) or COPY (PostgreSQL), no ORM objects. Older batches' score rows are deleted afterwards
(settings.ANALYTICS_KEEP_BATCHES, default 2: the current and the previous one); batches and ModelRuns stay.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import time
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from django.apps import apps
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max, Min
from django.utils import timezone

from clientwise.analytics import churn, extract, pipeline
from clientwise.analytics.engines import ENGINES, get_engine
from clientwise.analytics.models import CustomerScore, ModelRun, RunStatus, ScoringBatch
from clientwise.analytics.tasks import score_customers
from clientwise.commerce.models import Order
from clientwise.core import permissions as perms
from clientwise.core.audit import audit
from clientwise.core.errors import DomainError, ErrorCode

log = logging.getLogger(__name__)

DEFAULT_HORIZON_DAYS = 365
DEFAULT_DISCOUNT_RATE = 0.10
DEFAULT_HOLDOUT_DAYS = 180
DEFAULT_CHURN_HORIZON_DAYS = 90
WRITE_CHUNK = 50_000
STALE_RUN = dt.timedelta(hours=6)  # a batch "running" longer than this was killed (its rows are removed)

# CustomerScore columns written from the pipeline's columns, with how each is turned into a database value.
MONEY = ("monetary", "expected_spend", "clv", "immediate_value", "potential_value", "value_at_risk")
FLOATS = ("p_alive", "expected_purchases", "churn_probability", "share_of_wallet")
INTS = ("rfm_r", "rfm_f", "rfm_m", "frequency", "recency", "age")
TEXTS = ("rfm_segment", "value_tier", "next_action", "acquisition_channel")
JSONS = ("churn_reasons", "next_purchase_categories", "recommendations")
DATES = ("next_purchase_on",)

Progress = Callable[[str, float, dict], None]


def can_run(user) -> bool:
    return perms.has_perm(user, perms.RUN_ANALYTICS)


def _setting(name: str, default):
    return getattr(settings, name, default)


def default_as_of() -> dt.date:
    """Today in settings.TIME_ZONE: orders up to now count, the day being the last observed one."""
    return timezone.localdate()


# Orders older than this make "as of today" meaningless: the data is imported history, not a live feed.
STALE_DATA_DAYS = 7


def suggested_as_of() -> tuple[dt.date, dt.date | None]:
    """(the day to score as of, the local day of the newest completed order or None). Today while orders keep
    coming; the newest order's day when the newest order is more than STALE_DATA_DAYS old (a history imported in
    one go, scored where it ends rather than months after it)."""
    newest = Order.objects.filter(status=Order.Status.COMPLETED).aggregate(at=Max("ordered_at"))["at"]
    today = timezone.localdate()
    if newest is None:
        return today, None
    day = timezone.localtime(newest).date()
    return (day if (today - day).days > STALE_DATA_DAYS else today), day


def _validate(*, as_of: dt.date, engine: str, horizon_days: int, discount_rate: float, holdout_days: int,
              churn_horizon_days: int) -> None:
    errors = []
    if engine not in ENGINES:
        errors.append(("engine", f"engine must be one of {', '.join(ENGINES)}."))
    if not 1 <= horizon_days <= 3650:
        errors.append(("horizon_days", "horizon_days must be between 1 and 3650."))
    if not 0 <= discount_rate < 1:
        errors.append(("discount_rate", "discount_rate must be at least 0 and below 1 (annual)."))
    if not 7 <= holdout_days <= 730:
        errors.append(("holdout_days", "holdout_days must be between 7 and 730."))
    if not 7 <= churn_horizon_days <= 730:
        errors.append(("churn_horizon_days", "churn_horizon_days must be between 7 and 730."))
    if as_of > timezone.localdate():
        errors.append(("as_of", f"as_of {as_of} is in the future (today is {timezone.localdate()} in "
                                f"{settings.TIME_ZONE})."))
    if errors:
        field, message = errors[0]
        raise DomainError(ErrorCode.INVALID, message, field)


def run_scoring(*, actor=None, as_of: dt.date | None = None, engine: str = "duckdb",
                horizon_days: int = DEFAULT_HORIZON_DAYS, discount_rate: float | None = None,
                holdout_days: int | None = None, churn_horizon_days: int | None = None,
                progress: Progress | None = None, engine_options: dict | None = None) -> ScoringBatch:
    """Score every customer as of `as_of` (default today) and make the result the current batch.

    `actor` None means the system (CLI, nightly task); a user needs the analytics.run right. `discount_rate` is
    annual (default settings.ANALYTICS_DISCOUNT_RATE or 0.10), `holdout_days` the validation window (default
    settings.ANALYTICS_HOLDOUT_DAYS or 180), `churn_horizon_days` the churn label window (default
    settings.ANALYTICS_CHURN_HORIZON_DAYS or 90); when neither window is given, both are shortened to fit the
    history before `as_of` (pipeline.fit_windows: holdout ≤ half, churn horizon ≤ a third of the days since the
    first order), so any day inside an imported history can be scored. `progress(stage, seconds, rows)` is
    called after each stage.
    Returns the finished batch; raises (after marking the batch failed) when a stage fails.
    """
    if actor is not None:
        perms.require(actor, perms.RUN_ANALYTICS)
    as_of = as_of or default_as_of()
    discount_rate = _setting("ANALYTICS_DISCOUNT_RATE", DEFAULT_DISCOUNT_RATE) if discount_rate is None \
        else discount_rate
    chosen_windows = bool(holdout_days or churn_horizon_days)
    holdout_days = holdout_days or _setting("ANALYTICS_HOLDOUT_DAYS", DEFAULT_HOLDOUT_DAYS)
    churn_horizon_days = churn_horizon_days or _setting("ANALYTICS_CHURN_HORIZON_DAYS", DEFAULT_CHURN_HORIZON_DAYS)
    if not chosen_windows and as_of <= timezone.localdate():
        holdout_days, churn_horizon_days = pipeline.fit_windows(as_of, _first_order_day(), holdout_days,
                                                                churn_horizon_days)
    _validate(as_of=as_of, engine=engine, horizon_days=horizon_days, discount_rate=discount_rate,
              holdout_days=holdout_days, churn_horizon_days=churn_horizon_days)
    _fail_abandoned_batches()
    if ScoringBatch.objects.filter(status=RunStatus.RUNNING).exists():
        raise DomainError(ErrorCode.CONFLICT, "A scoring run is already in progress.")
    config = pipeline.ScoringConfig(as_of=as_of, horizon_days=horizon_days, discount_rate=discount_rate,
                                    holdout_days=holdout_days, churn_horizon_days=churn_horizon_days, engine=engine,
                                    time_zone=settings.TIME_ZONE,
                                    churn_reasons_limit=int(_setting("ANALYTICS_CHURN_REASONS_LIMIT", 10_000)),
                                    model_threads=int(_setting("ANALYTICS_MODEL_THREADS", 1)))
    batch = ScoringBatch.objects.create(actor=actor if getattr(actor, "pk", None) else None, as_of=as_of,
                                        engine=engine, horizon_days=horizon_days, discount_rate=discount_rate)
    started = time.perf_counter()
    stages: dict[str, dict] = {}

    def report(stage: str, seconds: float, rows: dict) -> None:
        stages[stage] = {"seconds": round(seconds, 3), "rows": rows}
        if progress:
            progress(stage, seconds, rows)

    try:
        t0 = time.perf_counter()
        snap = extract.extract_snapshot(stamp=f"{timezone.now():%Y%m%dT%H%M%S}-b{batch.pk}")
        report("extract", time.perf_counter() - t0, dict(snap.rows))
        ScoringBatch.objects.filter(pk=batch.pk).update(snapshot=str(snap.path))
        batch.snapshot = str(snap.path)
        with get_engine(engine, **(engine_options or {})) as eng:
            eng.register(snap)
            result = pipeline.compute_scores(eng, config, progress=report)
        t0 = time.perf_counter()
        kept = keep_explainer(snap.path, result)
        report("keep_reasons", time.perf_counter() - t0, {"feature_rows": kept})
        t0 = time.perf_counter()
        written = _write_batch(batch, result, config, stages=stages, started=started)
        report("write", time.perf_counter() - t0, {"scores": written, "model_runs": len(result.models)})
        ScoringBatch.objects.filter(pk=batch.pk).update(stages=stages, seconds=round(time.perf_counter() - started, 3))
    except Exception as exc:
        history = isinstance(exc, pipeline.NotEnoughHistory)
        if history:
            log.warning("Scoring batch %s refused: %s", batch.pk, exc)
        else:
            log.exception("Scoring batch %s failed", batch.pk)
        ScoringBatch.objects.filter(pk=batch.pk).update(
            status=RunStatus.FAILED, finished_at=timezone.now(),
            error=(str(exc) if history else f"{type(exc).__name__}: {exc}")[:4000],
            stages=stages, seconds=round(time.perf_counter() - started, 3))
        CustomerScore.objects.filter(batch_id=batch.pk).delete()  # only if a failure came after a partial write
        if history:
            raise DomainError(ErrorCode.INVALID, exc.message, exc.field) from None
        raise
    t0 = time.perf_counter()
    pruned = prune_old_batches(keep=int(_setting("ANALYTICS_KEEP_BATCHES", 2)))
    extract.prune_snapshots(keep=int(_setting("ANALYTICS_KEEP_SNAPSHOTS", 2)), protect=Path(batch.snapshot))
    report("prune", time.perf_counter() - t0, {"scores_deleted": pruned})
    batch.refresh_from_db()
    batch.stages = stages
    batch.seconds = round(time.perf_counter() - started, 3)
    batch.save(update_fields=["stages", "seconds"])
    if actor is not None:
        audit(actor=actor, action="analytics.score", obj=batch,
              detail={"as_of": as_of.isoformat(), "engine": engine, "customers": batch.customers,
                      "models": [run.model for run in batch.model_runs.all()]})
    return batch


def keep_explainer(path: Path, result: pipeline.ScoringResult) -> int:
    """Keep the churn model and every scored buyer's feature row beside the snapshot, so the reasons of any
    customer a page shows can be computed when shown (dashboards.churn_reasons_for); scoring explains only the
    ANALYTICS_CHURN_REASONS_LIMIT customers with the most value at risk. Nothing is kept when churn failed.
    Returns the number of feature rows kept."""
    run = next((m for m in result.models if m.model == "churn" and not m.error and m.artifacts), None)
    if run is None:
        return 0
    model, matrix, ids = run.artifacts["model"], run.artifacts["matrix"], run.artifacts["customer_ids"]
    churn.save_explainer(model, path / churn.EXPLAINER_MODEL)
    table = pa.table({"customer_id": pa.array(ids, pa.int64()),
                      **{name: pa.array(matrix[:, j], pa.float64()) for j, name in enumerate(model.feature_cols)}})
    # Sorted by customer id in row groups of 20,000: a page's few ids read a few row groups (min/max pruning).
    pq.write_table(table, path / churn.EXPLAINER_FEATURES, row_group_size=20_000, compression="zstd")
    run.artifacts.clear()
    return int(ids.size)


def _first_order_day():
    """The local day of the first completed order (None without orders)."""
    first = apps.get_model("commerce.Order").objects.filter(status="completed").aggregate(
        first=Min("ordered_at"))["first"]
    return timezone.localdate(first) if first is not None else None


def _fail_abandoned_batches() -> None:
    """Batches left "running" by a killed process: mark them failed and drop any rows they wrote."""
    stale = ScoringBatch.objects.filter(status=RunStatus.RUNNING, started_at__lt=timezone.now() - STALE_RUN)
    for batch in stale:
        CustomerScore.objects.filter(batch_id=batch.pk).delete()
        ScoringBatch.objects.filter(pk=batch.pk).update(status=RunStatus.FAILED, finished_at=timezone.now(),
                                                        error="abandoned (the process running it stopped)")


def _write_batch(batch: ScoringBatch, result: pipeline.ScoringResult, config: pipeline.ScoringConfig, *,
                 stages: dict, started: float) -> int:
    """Scores, ModelRuns and the current-batch switch in one transaction."""
    now = timezone.now()
    with transaction.atomic():
        written = bulk_insert_scores(batch_id=batch.pk, as_of=config.as_of, customer_ids=result.customer_ids,
                                     columns=result.columns)
        runs = []
        for outcome in result.models:
            runs.append(ModelRun(
                batch=batch, model=outcome.model, version=outcome.version, engine=config.engine,
                started_at=outcome.started_at, finished_at=outcome.started_at + dt.timedelta(seconds=outcome.seconds),
                status=RunStatus.FAILED if outcome.error else RunStatus.DONE, as_of=config.as_of,
                parameters=pipeline._clean(outcome.parameters), metrics=pipeline._clean(outcome.metrics),
                rows_in=outcome.rows_in, rows_out=outcome.rows_out, seconds=round(outcome.seconds, 3),
                error=outcome.error[:4000]))
        ModelRun.objects.bulk_create(runs)
        ScoringBatch.objects.filter(is_current=True).update(is_current=False)
        ScoringBatch.objects.filter(pk=batch.pk).update(
            is_current=True, status=RunStatus.DONE, finished_at=now, customers=len(result.customer_ids),
            scores=written, stages=stages, seconds=round(time.perf_counter() - started, 3))
    return written


def _nullable(arr: np.ndarray, values: np.ndarray) -> list:
    """Python values with None where `arr` is NaN or infinite, converted in C (object arrays), not per item."""
    out = values.astype(object)
    out[~np.isfinite(arr)] = None
    return out.tolist()


def _money(values) -> list:
    arr = np.asarray(values, dtype=np.float64)
    rounded = np.round(arr, 2)
    if connection.vendor == "sqlite":  # stored with numeric affinity: the rounded float is the value
        return _nullable(arr, rounded)
    return [None if v is None else Decimal(repr(v)) for v in _nullable(arr, rounded)]


def _floats(values) -> list:
    arr = np.asarray(values, dtype=np.float64)
    return _nullable(arr, arr)


def _ints(values) -> list:
    arr = np.asarray(values, dtype=np.float64)
    return _nullable(arr, np.where(np.isfinite(arr), arr, 0).astype(np.int64))


def _texts(values) -> list:
    return ["" if v is None else str(v) for v in (values.tolist() if isinstance(values, np.ndarray) else values)]


_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))  # one encoder: json.dumps(**options) builds one per call


def _jsons(values) -> list:
    encode = _JSON.encode
    return ["[]" if not v else encode(v) for v in values]


def _dates(values) -> list:
    return [None if v is None or (isinstance(v, float) and math.isnan(v)) else
            (v if isinstance(v, dt.date) else dt.date.fromisoformat(str(v))) for v in values]


def score_rows(*, batch_id: int, as_of: dt.date, customer_ids: np.ndarray, columns: dict) -> tuple[list[str], list]:
    """(column names, database values per column) for CustomerScore rows; columns the pipeline did not
    produce get their empty value (null, "" or [])."""
    n = len(customer_ids)
    names = ["batch_id", "customer_id", "as_of"]
    values: list[list] = [[batch_id] * n, [int(c) for c in np.asarray(customer_ids).tolist()], [as_of.isoformat()] * n]
    for group, convert, empty in ((MONEY, _money, None), (FLOATS, _floats, None), (INTS, _ints, None),
                                  (TEXTS, _texts, ""), (JSONS, _jsons, "[]"), (DATES, _dates, None)):
        for name in group:
            names.append(CustomerScore._meta.get_field(name).column)
            if name in columns:
                col = convert(columns[name])
                if len(col) != n:
                    raise ValueError(f"score column {name} has {len(col)} values for {n} customers")
                values.append(col)
            else:
                values.append([empty] * n)
    return names, values


def bulk_insert_scores(*, batch_id: int, as_of: dt.date, customer_ids: np.ndarray, columns: dict,
                       chunk: int | None = None) -> int:
    """Insert one CustomerScore row per customer in the caller's transaction: COPY on PostgreSQL, a prepared
    executemany elsewhere, `chunk` rows at a time. Returns the number of rows."""
    chunk = chunk or WRITE_CHUNK
    names, values = score_rows(batch_id=batch_id, as_of=as_of, customer_ids=customer_ids, columns=columns)
    table = CustomerScore._meta.db_table
    n = len(customer_ids)
    qn = connection.ops.quote_name
    collist = ", ".join(qn(c) for c in names)
    with connection.cursor() as cur:
        for start in range(0, n, chunk):
            rows = list(zip(*(col[start:start + chunk] for col in values), strict=True))
            _write_rows(cur, table, collist, len(names), rows)
    return n


def _write_rows(cur, table: str, collist: str, width: int, rows: Sequence[tuple]) -> None:
    qn = connection.ops.quote_name
    if connection.vendor == "postgresql":
        with cur.cursor.copy(f"COPY {qn(table)} ({collist}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    else:
        marks = ", ".join(["%s"] * width)
        cur.executemany(f"INSERT INTO {qn(table)} ({collist}) VALUES ({marks})", rows)


def prune_old_batches(*, keep: int = 2) -> int:
    """Delete score rows of all but the `keep` newest finished batches (never the current one, never a running
    one). Returns the number of rows deleted."""
    keep = max(1, keep)
    kept = list(ScoringBatch.objects.filter(status=RunStatus.DONE).order_by("-finished_at", "-id")
                .values_list("pk", flat=True)[:keep])
    current = ScoringBatch.objects.filter(is_current=True).values_list("pk", flat=True).first()
    protected = set(kept) | ({current} if current else set())
    protected |= set(ScoringBatch.objects.filter(status=RunStatus.RUNNING).values_list("pk", flat=True))
    old = ScoringBatch.objects.exclude(pk__in=protected).filter(scores__gt=0)
    deleted = 0
    for batch_id in old.values_list("pk", flat=True):
        with transaction.atomic():
            count, _ = CustomerScore.objects.filter(batch_id=batch_id).delete()
            ScoringBatch.objects.filter(pk=batch_id).update(scores=0)
        deleted += count
    return deleted


def request_scoring(*, actor, as_of: dt.date | None = None, engine: str = "duckdb",
                    horizon_days: int = DEFAULT_HORIZON_DAYS):
    """Queue a scoring run in the background (the analytics page's "Run scoring" button); analytics.run only.

    Returns the django-tasks TaskResult.
    """
    perms.require(actor, perms.RUN_ANALYTICS)
    if ScoringBatch.objects.filter(status=RunStatus.RUNNING, started_at__gte=timezone.now() - STALE_RUN).exists():
        raise DomainError(ErrorCode.CONFLICT, "A scoring run is already in progress.")

    return score_customers.enqueue(actor_id=actor.pk, as_of=as_of.isoformat() if as_of else None, engine=engine,
                                   horizon_days=horizon_days)
