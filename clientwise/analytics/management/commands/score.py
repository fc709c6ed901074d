"""`clientwise score`: extract → features → models → CustomerScore rows, with a line per stage.

Every failure ends as one line on stderr and exit status 1 (a CommandError), never a traceback: a bad or future
date, too little history before --as-of, a run already in progress, or a stage that failed (its detail is in the
log and on the failed batch)."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from clientwise.analytics.services import run_scoring
from clientwise.analytics.tasks import next_nightly_time, schedule_nightly_scoring
from clientwise.core.errors import DomainError


def _rows(rows: dict) -> str:
    parts = []
    for key, value in rows.items():
        if isinstance(value, int | float):
            parts.append(f"{key} {value:,}")
        elif isinstance(value, dict) and key != "cutoffs":
            parts.append(f"{key} " + ", ".join(f"{k}={v:,}" if isinstance(v, int) else f"{k}={v}"
                                               for k, v in value.items()))
    return "; ".join(parts)


class Command(BaseCommand):
    help = ("Score every customer: RFM, BG/NBD purchases and P(alive), Gamma-Gamma spend, CLV, churn risk "
            "(and the other models), written as a new current scoring batch.")

    def add_arguments(self, parser):
        parser.add_argument("--engine", choices=["duckdb", "spark"], default="duckdb",
                            help="SQL engine for the features (default duckdb; spark runs local[2] unless "
                                 "SPARK_MASTER is set)")
        parser.add_argument("--as-of", default=None, metavar="YYYY-MM-DD",
                            help="last day observed (default today in TIME_ZONE); any day inside the imported "
                                 "history works")
        parser.add_argument("--horizon-days", type=int, default=365,
                            help="horizon of expected purchases and CLV (default 365)")
        parser.add_argument("--discount-rate", type=float, default=None,
                            help="annual discount rate for CLV (default settings.ANALYTICS_DISCOUNT_RATE or 0.10)")
        parser.add_argument("--holdout-days", type=int, default=None,
                            help="validation window before --as-of (default 180)")
        parser.add_argument("--churn-horizon-days", type=int, default=None,
                            help="churn label window (default 90)")
        parser.add_argument("--schedule", action="store_true",
                            help="do not score now: queue the nightly run for `clientwise worker` and exit")

    def handle(self, *args, engine, as_of, horizon_days, discount_rate, holdout_days, churn_horizon_days, schedule,
               **options):
        if schedule:
            result = schedule_nightly_scoring(engine=engine, horizon_days=horizon_days)
            when = next_nightly_time()
            if result is None:
                self.stdout.write("A nightly scoring run is already queued.")
            else:
                self.stdout.write(f"Nightly scoring queued for {when:%Y-%m-%d %H:%M %Z}; `clientwise worker` runs "
                                  f"it and queues the next night's.")
            return

        as_of = _as_of(as_of)

        def progress(stage: str, seconds: float, rows: dict) -> None:
            self.stdout.write(f"  {stage:<14} {seconds:8.2f} s   {_rows(rows)}")
            self.stdout.flush()

        self.stdout.write(f"Scoring with {engine} (as of {as_of or 'today'}, horizon {horizon_days} days)…")
        try:
            batch = run_scoring(actor=None, as_of=as_of, engine=engine, horizon_days=horizon_days,
                                discount_rate=discount_rate, holdout_days=holdout_days,
                                churn_horizon_days=churn_horizon_days, progress=progress)
        except DomainError as exc:
            raise CommandError(exc.message) from None
        except Exception as exc:  # noqa: BLE001 - the batch is marked failed and the log has the traceback
            first = (str(exc).strip().splitlines() or [""])[0]
            raise CommandError(f"Scoring failed: {type(exc).__name__}: {first} (details in the log).") from None
        rate = batch.scores / batch.seconds if batch.seconds else 0
        self.stdout.write(f"Scored {batch.scores:,} customers in {batch.seconds:.1f} s ({rate:,.0f} customers/s); "
                          f"batch {batch.pk} as of {batch.as_of} is current.")
        for run in batch.model_runs.order_by("id"):
            headline = _headline(run)
            self.stdout.write(f"  {run.model:<14} {run.status:<7} {run.seconds or 0:7.2f} s  rows in {run.rows_in:,}"
                              f"{'  ' + headline if headline else ''}")


def _as_of(value: str | dt.date | None) -> dt.date | None:
    if value is None or isinstance(value, dt.date):  # call_command(as_of=date) passes a date
        return value
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise CommandError(f"--as-of “{value}” is not a date; use YYYY-MM-DD.") from None


def _headline(run) -> str:
    m = run.metrics or {}
    if run.error:
        return run.error.splitlines()[0][:120]
    if run.model == "bgnbd" and m.get("ratio") is not None:
        return (f"holdout purchases predicted {m['predicted_total']:,.0f} vs actual {m['actual_total']:,.0f} "
                f"(ratio {m['ratio']:.3f}, MAE {m['mae']:.3f}, r {m['correlation'] or 0:.3f})")
    if run.model == "clv" and m.get("ratio") is not None:
        return (f"holdout revenue ratio {m['ratio']:.3f}, r {m['correlation'] or 0:.3f}, top-20% capture "
                f"{m['top20_capture'] or 0:.3f} (past revenue {m['baseline_top20_capture'] or 0:.3f})")
    if run.model == "recommend" and m.get("hit_rate") is not None:
        return (f"holdout hit rate {m['hit_rate']:.3f} vs most popular {m['baseline_hit_rate']:.3f} "
                f"({m['customers']:,} customers, top {m['k']})")
    if run.model == "next_purchase" and m.get("mae") is not None:
        return (f"next purchase day MAE {m['mae']:.1f} days vs own mean gap {m['baseline_mae']:.1f} "
                f"({m['returned']:,} returned in the holdout)")
    if run.model == "value" and m.get("holdout"):
        top = next((b for b in m["holdout"]["bins"] if b["tier"] == "A"), None)
        if top and top.get("revenue_share") is not None:
            return (f"tier A ({top['customer_share']:.0%} of customers) brought {top['revenue_share']:.0%} of "
                    f"holdout revenue")
    if m.get("auc") is not None:
        return f"AUC {m['auc']:.3f} (recency only {m.get('baseline_auc') or 0:.3f})"
    if m.get("mae") is not None:
        return f"MAE {m['mae']:.3f}"
    return ""
