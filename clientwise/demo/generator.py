"""A seeded simulation of a retail business with a known future, loaded in bulk.

`generate(customers=N, seed=S)` builds the organization (world.py), then simulates customers in chunks:
profiles, contact points, consent, staff touches, and a repeat-buying process in the BG/NBD family —
each customer buys at a gamma-distributed rate λ and, after every purchase, silently drops out with a
beta-distributed probability p. Some customers also replenish a consumable (formula, ink, detergent) on a
cycle while they are alive. Baskets follow co-purchase rules (catalog.COMPLEMENTS). Everything after `now` is
not loaded as orders: it is summed into demo.CustomerTruth (future_orders, future_revenue), the held-out
future that analytics are checked against.

Every array is drawn from numpy Generator(PCG64) seeded by (seed, chunk number), so the same seed and chunk
size give the same business. Money is integer fen until it is written (NUMERIC(14,2)).

This module writes rows in bulk instead of through customers/commerce services on purpose: a million
customers cannot go through per-row services in minutes. The totals the services would maintain
(CustomerStats: order count, revenue, first/last order; Order sums of lines) are computed here the same way and the
tests check them.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from django.db import connections, transaction
from django.utils import timezone
from tqdm import tqdm

from clientwise.accounts.models import Team, User
from clientwise.commerce.models import (
    Branch,
    Brand,
    Channel,
    Order,
    OrderLine,
    Product,
    ProductCategory,
    Promoter,
    Region,
    Return,
    ReturnLine,
    Store,
)
from clientwise.commerce.rules import base_currency
from clientwise.core.errors import DomainError, ErrorCode
from clientwise.core.extensions import demo_modules
from clientwise.core.normalize import pinyin_keys
from clientwise.customers.models import (
    Consent,
    ContactPoint,
    Customer,
    CustomerShare,
    CustomerStats,
    CustomerTag,
    Interaction,
    Tag,
)
from clientwise.dataio.identity.models import DuplicateCandidate, MergedCustomer, MergeRecord
from clientwise.demo import catalog as C
from clientwise.demo.loader import BulkLoader, restore_indexes
from clientwise.demo.models import CustomerTruth, DemoRun
from clientwise.demo.world import StaffUser, World, build_world

DAY = 86400
DUPLICATE_SHARE = 0.02
# A duplicate is a second registration of one person. When it shares neither phone, email nor birth date with
# the first (another number, no email given, birthday not asked), the person still usually gave one of them
# again, or the same home address: only this share of such duplicates carries nothing but name and city —
# records no one can tell from two namesakes in one city (docs/dedup.md, "Demo duplicates").
DUP_UNLINKED_SHARE = 0.2
# A duplicate with a postal address gives its original's home, written its own way, unless the person moved.
DUP_SAME_HOME = 0.85
ORG_SHARE = 0.015
ENGLISH_SHARE = 0.04
PROSPECT_SHARE = 0.08
RETURN_SHARE = 0.03
# BG/NBD parameters: λ ~ Gamma(r, 1/α) purchases per year, p ~ Beta(a, b).
RATE_SHAPE, RATE_SCALE = 0.9, 8.0
DROP_A, DROP_B = 1.2, 8.0
DISCOUNT_RATES = np.array([0.0, 0.05, 0.10, 0.20])
DISCOUNT_WEIGHTS = np.array([0.6, 0.2, 0.12, 0.08])
BULK_MODELS = [Customer, CustomerStats, ContactPoint, Consent, CustomerTag, CustomerShare, Interaction, Order,
               OrderLine, Return,
               ReturnLine, CustomerTruth]


class DemoDataExists(DomainError):
    def __init__(self):
        super().__init__(ErrorCode.CONFLICT, "Demo data already exists in this database. Run `clientwise demo "
                         "--reset ...` to delete it and generate again.")


@dataclass
class DemoResult:
    """What a run produced; also stored in DemoRun.stats."""

    run_id: int
    seed: int
    customers: int
    organizations: int
    duplicates: int
    orders: int
    order_lines: int
    returns: int
    interactions: int
    future_orders: int
    now: dt.datetime
    history_start: dt.datetime
    future_days: int
    seconds: float
    load_seconds: float
    load_rows: int
    staff: list[StaffUser] = field(default_factory=list)
    password: str = C.DEMO_PASSWORD
    tables: dict[str, int] = field(default_factory=dict)
    table_seconds: dict[str, float] = field(default_factory=dict)

    def as_stats(self) -> dict[str, Any]:
        data = asdict(self)
        data["now"] = self.now.isoformat()
        data["history_start"] = self.history_start.isoformat()
        data.pop("staff")
        return data


def default_now() -> dt.datetime:
    """This hour (local time): today's business so far is in the past, so the home page has today's figures.
    Pass an explicit `now` (`--now YYYY-MM-DD`) for runs that must give the same dates whenever they run."""
    local = timezone.localtime()
    return local.replace(minute=0, second=0, microsecond=0)


# ---------------------------------------------------------------------------------------------------------------
# Existing data


def has_demo_data(using: str = "default") -> bool:
    return (DemoRun.objects.using(using).exists() or Customer.objects.using(using).filter(source=C.SOURCE).exists()
            or Region.objects.using(using).filter(source=C.SOURCE).exists())


def delete_demo_data(using: str = "default") -> None:
    """Delete demo customers with everything that hangs off them, the demo catalog and organization, and the
    users and teams demo runs created. Rows other people entered about demo customers go with them."""
    conn = connections[using]
    qn = conn.ops.quote_name
    cust = f"SELECT {qn('id')} FROM {qn(Customer._meta.db_table)} WHERE {qn('source')} = %s"
    params = [C.SOURCE]

    def table(model) -> str:
        return qn(model._meta.db_table)

    user_ids: list[int] = []
    team_ids: list[int] = []
    for run in DemoRun.objects.using(using).all():
        user_ids += run.user_ids or []
        team_ids += run.team_ids or []

    for module in reversed(list(demo_modules())):  # other apps' demo rows first (sales, service…)
        if hasattr(module, "delete"):
            module.delete(using)
    with transaction.atomic(using=using), conn.cursor() as cur:
        returns = f"SELECT {qn('id')} FROM {table(Return)} WHERE {qn('customer_id')} IN ({cust})"
        orders = f"SELECT {qn('id')} FROM {table(Order)} WHERE {qn('customer_id')} IN ({cust})"
        cur.execute(f"DELETE FROM {table(ReturnLine)} WHERE {qn('ret_id')} IN ({returns})", params)
        cur.execute(f"DELETE FROM {table(Return)} WHERE {qn('customer_id')} IN ({cust})", params)
        cur.execute(f"DELETE FROM {table(OrderLine)} WHERE {qn('order_id')} IN ({orders})", params)
        cur.execute(f"DELETE FROM {table(Order)} WHERE {qn('customer_id')} IN ({cust})", params)
        # Everything else that points at a customer (timeline, contacts, consent, tags, other apps' rows).
        # include_hidden: relations declared with related_name="+" (e.g. data-quality rows) point at customers too.
        for rel in Customer._meta.get_fields(include_hidden=True):
            if not (rel.auto_created and not rel.concrete and (rel.one_to_many or rel.one_to_one)):
                continue
            model = rel.related_model
            if model is Customer or model in (Order, Return) or not getattr(rel, "field", None):
                continue
            column = rel.field.column
            if rel.on_delete.__name__ == "SET_NULL":
                cur.execute(f"UPDATE {table(model)} SET {qn(column)} = NULL WHERE {qn(column)} IN ({cust})", params)
            else:
                cur.execute(f"DELETE FROM {table(model)} WHERE {qn(column)} IN ({cust})", params)
        # Rows that name customers by id without a foreign key: duplicate pairs and merge history.
        for model, columns in ((DuplicateCandidate, ("customer_a_id", "customer_b_id")),
                               (MergedCustomer, ("customer_id", "survivor_id")), (MergeRecord, ("survivor_id",))):
            where = " OR ".join(f"{qn(c)} IN ({cust})" for c in columns)
            cur.execute(f"DELETE FROM {table(model)} WHERE {where}", params * len(columns))
        cur.execute(f"UPDATE {table(Customer)} SET {qn('organization_id')} = NULL WHERE {qn('source')} = %s", params)
        cur.execute(f"DELETE FROM {table(Customer)} WHERE {qn('source')} = %s", params)
        cur.execute(f"DELETE FROM {table(CustomerTruth)}")
        for model in (Promoter, Product):
            cur.execute(f"DELETE FROM {table(model)} WHERE {qn('source')} = %s", params)
        cur.execute(f"DELETE FROM {table(ProductCategory)} WHERE {qn('source')} = %s AND {qn('parent_id')} IS NOT NULL",
                    params)
        for model in (ProductCategory, Store, Branch, Region, Brand):
            cur.execute(f"DELETE FROM {table(model)} WHERE {qn('source')} = %s", params)
        # Channels and tags carry no source: the demo's own codes and names go when nothing uses them any more.
        Channel.objects.using(using).filter(code__in=[c for c, _n, _k in C.CHANNELS], orders__isnull=True).delete()
        Tag.objects.using(using).filter(name__in=[n for n, _c in C.TAGS], customertag__isnull=True).delete()
        DemoRun.objects.using(using).all().delete()
        User.objects.using(using).filter(pk__in=user_ids).delete()
        remaining = set(Team.objects.using(using).filter(pk__in=team_ids).values_list("pk", flat=True))
        while remaining:
            parents = set(Team.objects.using(using).filter(parent_id__in=remaining).values_list("parent_id", flat=True))
            leaves = remaining - parents
            if not leaves:  # someone hung their own teams below ours: keep those branches
                break
            Team.objects.using(using).filter(pk__in=leaves).delete()
            remaining -= leaves


def repair_interrupted_load(using: str = "default") -> None:
    """Recreate indexes a killed load dropped and never rebuilt (recorded in DemoRun.stats first)."""
    for run in DemoRun.objects.using(using).filter(stats__has_key="pending_indexes"):
        restore_indexes(run.stats["pending_indexes"], using=using)
        stats = {k: v for k, v in run.stats.items() if k != "pending_indexes"}
        DemoRun.objects.using(using).filter(pk=run.pk).update(stats=stats)


# ---------------------------------------------------------------------------------------------------------------
# Entry point


def generate(*, customers: int = 1000, seed: int = 42, future_days: int = 180, history_days: int = 730,
             reset: bool = False, quiet: bool = True, now: dt.datetime | None = None, chunk_size: int = 50_000,
             using: str = "default", progress_file=None) -> DemoResult:
    """Generate and load a demo business. Raises DemoDataExists when demo data is present and reset is False."""
    if customers < 1:
        raise DomainError(ErrorCode.INVALID, "customers must be at least 1.", "customers")
    if history_days < 30 or future_days < 0:
        raise DomainError(ErrorCode.INVALID, "history_days must be ≥ 30 and future_days ≥ 0.", "history_days")
    started = time.perf_counter()
    repair_interrupted_load(using)
    if has_demo_data(using):
        if not reset:
            raise DemoDataExists()
        delete_demo_data(using)
    now = (now or default_now()).astimezone(dt.UTC)
    # Days are simulated from local midnight; `now` may fall inside the last day (what is before it is past).
    day_start = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    history_start = (day_start - dt.timedelta(days=history_days)).astimezone(dt.UTC)
    with transaction.atomic(using=using):
        world = build_world(opened_before=history_start.date())
        run = DemoRun.objects.using(using).create(
            seed=seed, customers=customers, now=now, history_start=history_start, future_days=future_days,
            user_ids=world.user_ids, team_ids=world.team_ids)

    loader = BulkLoader(using=using)
    sim = Simulation(world=world, loader=loader, seed=seed, now=now, history_start=history_start,
                     history_days=history_days, future_days=future_days)

    def remember(create_sql: list[str]) -> None:
        DemoRun.objects.using(using).filter(pk=run.pk).update(stats={"pending_indexes": create_sql})

    loader.prepare(BULK_MODELS, on_defer=remember)
    bar = None
    if not quiet:
        bar = tqdm(total=customers, unit="customers", file=progress_file or sys.stderr, smoothing=0.1)
    try:
        for chunk_no, start in enumerate(range(0, customers, chunk_size)):
            n = min(chunk_size, customers - start)
            tables = sim.simulate_chunk(chunk_no, n)
            with transaction.atomic(using=using):
                for model, columns in tables:
                    loader.insert(model, columns)
            if bar is not None:
                bar.update(n)
    finally:
        if bar is not None:
            bar.close()
        loader.finish(BULK_MODELS + [DemoRun])
    seconds = time.perf_counter() - started
    tables = {name: st.rows for name, st in loader.stats.items()}
    total = loader.total()
    result = DemoResult(
        run_id=run.pk, seed=seed, customers=customers, organizations=sim.counts["organizations"],
        duplicates=sim.counts["duplicates"], orders=tables.get(Order._meta.db_table, 0),
        order_lines=tables.get(OrderLine._meta.db_table, 0), returns=tables.get(Return._meta.db_table, 0),
        interactions=tables.get(Interaction._meta.db_table, 0), future_orders=sim.counts["future_orders"],
        now=now, history_start=history_start, future_days=future_days, seconds=round(seconds, 2),
        load_seconds=round(total.seconds, 2), load_rows=total.rows, staff=world.staff, tables=tables,
        table_seconds={name: round(st.seconds, 3) for name, st in loader.stats.items()})
    DemoRun.objects.using(using).filter(pk=run.pk).update(
        order_lines=result.order_lines, orders=result.orders, seconds=result.seconds, stats=result.as_stats())
    return result


# ---------------------------------------------------------------------------------------------------------------
# The simulation


def _given_name_vocab() -> tuple[list[str], list[str]]:
    """Given names per gender: one character, or two (doubled characters too, as in 婷婷)."""
    out = []
    for chars in (C.GIVEN_FEMALE + C.GIVEN_COMMON, C.GIVEN_MALE + C.GIVEN_COMMON):
        out.append(list(chars) + [a + b for a in chars for b in chars])
    return out[0], out[1]


GIVEN_F, GIVEN_M = _given_name_vocab()
SURNAMES = [s for s, _w in C.SURNAMES]
SURNAME_P = np.array([w for _s, w in C.SURNAMES]) / sum(w for _s, w in C.SURNAMES)


def _pick(rng: np.random.Generator, weights, size: int) -> np.ndarray:
    p = np.asarray(weights, dtype=float)
    return rng.choice(p.size, size=size, p=p / p.sum())


def _rows_from_cum(rng: np.random.Generator, cum: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """For each i, an index drawn from the distribution whose cumulative row is cum[rows[i]]."""
    u = rng.random(rows.size)
    return np.minimum((u[:, None] > cum[rows]).sum(axis=1), cum.shape[1] - 1)


class Simulation:
    def __init__(self, *, world: World, loader: BulkLoader, seed: int, now: dt.datetime,
                 history_start: dt.datetime, history_days: int, future_days: int):
        self.w = world
        self.loader = loader
        self.seed = seed
        self.now_ts = int(now.timestamp())
        self.start_ts = int(history_start.timestamp())
        self.history_days = history_days
        self.horizon = history_days + future_days  # days from history start
        self.pg = loader.is_postgres
        self.pinyin: dict[str, tuple[str, str]] = {}
        self.counts = {"organizations": 0, "duplicates": 0, "future_orders": 0}
        self.next_id = {m: loader.max_id(m) + 1 for m in BULK_MODELS if m is not CustomerTruth}
        self._prepare_catalog()

    # -- catalog lookups ---------------------------------------------------------------------------------------

    def _prepare_catalog(self) -> None:
        w = self.w
        leaf = w.leaf_codes
        self.n_cat = len(leaf)
        self.cat_index = {code: i for i, code in enumerate(leaf)}
        self.segments = [s[0] for s in C.SEGMENTS]
        self.segment_p = np.array([s[1] for s in C.SEGMENTS])
        anchor = np.zeros((len(C.SEGMENTS), self.n_cat))
        for i, (_name, _w, cats, _habit, _hp) in enumerate(C.SEGMENTS):
            for code, p in cats.items():
                anchor[i, self.cat_index[code]] = p
        anchor /= anchor.sum(axis=1, keepdims=True)
        self.anchor_cum = np.cumsum(anchor, axis=1)
        self.habit_cat = np.array([self.cat_index[s[3]] if s[3] else -1 for s in C.SEGMENTS])
        self.habit_p = np.array([s[4] for s in C.SEGMENTS])
        cycle = {c[0]: c[4] for c in C.CATEGORIES}
        self.cat_cycle = np.array([cycle[code] or 0 for code in leaf], dtype=float)
        self.consumable = np.array([code in C.CONSUMABLES for code in leaf])
        # Product choice per (income band, category): richer customers lean to the dearer models.
        self.choice: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
        for c in range(self.n_cat):
            idx = np.flatnonzero(w.product_cat == c)
            price = w.product_price[idx].astype(float)
            rank = (np.argsort(np.argsort(price)) / max(len(idx) - 1, 1)) if len(idx) > 1 else np.zeros(1)
            for band in range(4):
                weights = w.product_weight[idx] * np.exp((band - 1.5) * (rank - 0.5) * 1.6)
                self.choice[(band, c)] = (idx, np.cumsum(weights / weights.sum()))
        self.team_ids = np.array(sorted(w.team_reps), dtype=np.int64)
        width = max(len(v) for v in w.team_reps.values())
        self.team_rep_matrix = np.array([w.team_reps[t] + [w.team_reps[t][0]] * (width - len(w.team_reps[t]))
                                         for t in self.team_ids], dtype=np.int64)
        self.team_rep_count = np.array([len(w.team_reps[t]) for t in self.team_ids], dtype=np.int64)
        store_ids = sorted(w.store_promoters)
        self.store_index = {s: i for i, s in enumerate(store_ids)}
        self.store_promoter_matrix = np.array([w.store_promoters[s] for s in store_ids], dtype=np.int64)

    def choose_products(self, rng: np.random.Generator, cats: np.ndarray, bands: np.ndarray) -> np.ndarray:
        out = np.empty(cats.size, dtype=np.int64)
        u = rng.random(cats.size)
        key = cats * 4 + bands
        order = np.argsort(key, kind="stable")
        sorted_key = key[order]
        bounds = np.flatnonzero(np.diff(sorted_key)) + 1
        for group in np.split(order, bounds):
            if group.size == 0:
                continue
            k = int(key[group[0]])
            idx, cum = self.choice[(k % 4, k // 4)]
            out[group] = idx[np.minimum(np.searchsorted(cum, u[group], side="right"), idx.size - 1)]
        return out

    # -- value formatting --------------------------------------------------------------------------------------

    def ts(self, seconds: np.ndarray, valid: np.ndarray | None = None) -> list:
        text = np.strings.replace(np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s"), "T", " ")
        if self.pg:
            text = np.strings.add(text, "+00")
        out = text.tolist()
        if valid is not None:
            for i in np.flatnonzero(~valid).tolist():
                out[i] = None
        return out

    @staticmethod
    def money(fen: np.ndarray) -> list:
        return (fen / 100.0).tolist()

    def ids(self, model, n: int) -> np.ndarray:
        first = self.next_id[model]
        self.next_id[model] = first + n
        return np.arange(first, first + n, dtype=np.int64)

    def pinyin_of(self, names: list[str]) -> tuple[list[str], list[str]]:
        cache = self.pinyin
        full, initials = [], []
        for name in names:
            keys = cache.get(name)
            if keys is None:
                keys = pinyin_keys(name)
                keys = cache[name] = (keys[0][:200], keys[1][:60])
            full.append(keys[0])
            initials.append(keys[1])
        return full, initials

    # -- one chunk ---------------------------------------------------------------------------------------------

    def simulate_chunk(self, chunk_no: int, n: int) -> list[tuple[type, dict[str, Any]]]:
        rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([self.seed, chunk_no])))
        w = self.w
        cid = self.ids(Customer, n)
        n_dup = int(round(n * DUPLICATE_SHARE)) if n >= 20 else 0
        n_base = n - n_dup

        # Who they are.
        is_org = rng.random(n) < ORG_SHARE
        is_org[n_base:] = False
        city = _pick(rng, w.city_weight, n)
        urban = rng.random(n) < w.city_urban[city]
        branch = w.city_branch[city]
        team_pos = rng.integers(0, 2, n)
        gender_f = rng.random(n) < 0.52
        english = (rng.random(n) < ENGLISH_SHARE) & ~is_org
        surname = _pick(rng, SURNAME_P, n)
        given_f = rng.integers(0, len(GIVEN_F), n)
        given_m = rng.integers(0, len(GIVEN_M), n)
        given_one = rng.random(n) < 0.28  # a one-character given name
        eng_first = rng.integers(0, len(C.ENGLISH_FIRST), n)
        eng_last = rng.integers(0, len(C.ENGLISH_LAST), n)
        age_days = (np.clip(rng.normal(38, 12, n), 18, 80) * 365.25).astype(np.int64) + rng.integers(0, 365, n)
        income = np.where(urban, _pick(rng, C.INCOME_URBAN, n), _pick(rng, C.INCOME_RURAL, n))
        occ_u = rng.integers(0, len(C.OCCUPATIONS_URBAN), n)
        occ_r = rng.integers(0, len(C.OCCUPATIONS_RURAL), n)
        segment = _pick(rng, self.segment_p, n)
        has_mobile = (rng.random(n) < 0.97) & ~is_org
        has_email = np.where(is_org, rng.random(n) < 0.9, rng.random(n) < 0.55)
        phone_key = cid.copy()
        email_src = np.arange(n)
        email_domain = _pick(rng, C.EMAIL_DOMAIN_WEIGHTS, n)
        dup_group = np.full(n, -1, dtype=np.int64)
        name_variant = np.zeros(n, dtype=np.int64)  # 0 as drawn; for duplicates 1 typo, 2 spacing/order
        birth_known = ~is_org & (rng.random(n) < 0.8)
        dup_src = np.full(n, -1, dtype=np.int64)  # for a duplicate, the index of its original
        dup_home = np.zeros(n, dtype=bool)  # a duplicate that gives its original's home (and nothing else)

        # Duplicates: copies of earlier people in the chunk with a typo, another phone or missing fields.
        if n_dup:
            people = np.flatnonzero(~is_org[:n_base])
            src = rng.choice(people, size=n_dup, replace=False)
            dst = np.arange(n_base, n)
            for arr in (city, urban, branch, gender_f, english, surname, given_f, given_m, given_one, eng_first,
                        eng_last, age_days, income, occ_u, occ_r, segment, email_domain, birth_known):
                arr[dst] = arr[src]
            # Often registered by another rep of the branch.
            team_pos[dst] = np.where(rng.random(n_dup) < 0.3, 1 - team_pos[src], team_pos[src])
            phone_mode = _pick(rng, [0.5, 0.35, 0.15], n_dup)  # same phone, another phone, none
            phone_key[dst] = np.where(phone_mode == 0, cid[src], cid[dst])
            has_mobile[dst] = (phone_mode < 2) & (has_mobile[src] | (phone_mode == 1))
            email_mode = _pick(rng, [0.4, 0.2, 0.4], n_dup)  # same email, other provider, none
            has_email[dst] = (email_mode < 2) & has_email[src]
            email_src[dst] = src
            email_domain[dst] = np.where(email_mode == 1, (email_domain[src] + 1) % len(C.EMAIL_DOMAINS),
                                         email_domain[src])
            birth_known[dst] &= rng.random(n_dup) < 0.7
            name_variant[dst] = _pick(rng, [0.2, 0.55, 0.25], n_dup)
            dup_group[src] = cid[src]
            dup_group[dst] = cid[src]
            self.counts["duplicates"] += n_dup
            # Its own random stream, so the draws of every other row stay as they were before this model.
            drng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([self.seed, chunk_no, 13])))
            shares = ((phone_mode == 0) & has_mobile[src]) | has_email[dst] | birth_known[dst]
            again = ~shares & (drng.random(n_dup) >= DUP_UNLINKED_SHARE)
            use_birth = again & birth_known[src]
            birth_known[dst[use_birth]] = True
            use_email = again & ~use_birth & has_email[src]
            has_email[dst[use_email]] = True
            dup_src[dst] = src
            dup_home[dst[again & ~use_birth & ~use_email]] = True
            self._drng = drng
        self.counts["organizations"] += int(is_org.sum())
        team = w.branch_teams[branch, team_pos]
        team_row = np.searchsorted(self.team_ids, team)
        owner = self.team_rep_matrix[team_row, (rng.random(n) * self.team_rep_count[team_row]).astype(np.int64)]
        home_store = w.city_stores[city, (rng.random(n) * w.city_store_count[city]).astype(np.int64)]

        names = self._names(rng, n, is_org, english, gender_f, surname, given_f, given_m, given_one, eng_first,
                            eng_last, name_variant, city)
        pinyin, initials = self.pinyin_of(names)

        # When they arrived and how they buy.
        buyer = rng.random(n) >= np.where(is_org, 0.2, PROSPECT_SHARE)
        t0 = self.history_days * rng.random(n) ** 0.8  # more customers joined recently: the business grows
        t0 = np.minimum(t0, self.history_days - 1e-6)
        created_ts = self.start_ts + np.floor(t0).astype(np.int64) * DAY + 8 * 3600 + rng.integers(0, 3600, n)
        lam = np.clip(rng.gamma(RATE_SHAPE, RATE_SCALE, n), 0.05, 40.0)
        drop_p = rng.beta(DROP_A, DROP_B, n)
        seg_habit = self.habit_cat[segment]
        habit = buyer & (seg_habit >= 0) & (rng.random(n) < self.habit_p[segment])
        habit_cat = np.where(habit, seg_habit, -1)
        habit_cycle = np.where(habit, self.cat_cycle[np.maximum(habit_cat, 0)] * rng.uniform(0.8, 1.3, n), 0.0)
        habit_product = self.choose_products(rng, np.maximum(habit_cat, 0), income)

        o_cust, o_t, o_repl, dropped = self._purchase_times(rng, n, buyer, t0, lam, drop_p, habit, habit_cycle)
        m = o_cust.size
        o_ts = self.start_ts + np.floor(o_t).astype(np.int64) * DAY + rng.integers(9 * 3600, 21 * 3600, m)
        # The first purchase happens on the day they joined, after they registered.
        o_ts = np.maximum(o_ts, created_ts[o_cust] + 600)
        order = np.lexsort((o_ts, o_cust))
        o_cust, o_ts, o_repl = o_cust[order], o_ts[order], o_repl[order]
        past = o_ts < self.now_ts

        # Baskets.
        own = rng.random(m) < 0.8
        seg_row = np.where(own, segment[o_cust], _pick(rng, self.segment_p, m))
        anchor = _rows_from_cum(rng, self.anchor_cum, seg_row)
        anchor = np.where(o_repl, habit_cat[o_cust], anchor)
        l_order, l_cat, l_anchor = [np.arange(m)], [anchor], [np.ones(m, dtype=bool)]
        for code, comps in C.COMPLEMENTS.items():
            rows = np.flatnonzero(anchor == self.cat_index[code])
            for comp, prob in comps:
                sel = rows[rng.random(rows.size) < prob]
                l_order.append(sel)
                l_cat.append(np.full(sel.size, self.cat_index[comp]))
                l_anchor.append(np.zeros(sel.size, dtype=bool))
        sel = np.flatnonzero(rng.random(m) < C.IMPULSE_PROB)
        l_order.append(sel)
        l_cat.append(rng.integers(0, self.n_cat, sel.size))
        l_anchor.append(np.zeros(sel.size, dtype=bool))
        l_order, l_cat, l_anchor = np.concatenate(l_order), np.concatenate(l_cat), np.concatenate(l_anchor)
        srt = np.argsort(l_order, kind="stable")  # anchor line first within each order
        l_order, l_cat, l_anchor = l_order[srt], l_cat[srt], l_anchor[srt]
        l_cust = o_cust[l_order]
        product = self.choose_products(rng, l_cat, income[l_cust])
        loyal = l_anchor & o_repl[l_order]
        product[loyal] = habit_product[l_cust[loyal]]
        qty = np.ones(l_order.size, dtype=np.int64)
        cons = self.consumable[l_cat]
        qty[cons] += rng.poisson(0.35, int(cons.sum()))
        qty[loyal] += rng.poisson(0.5, int(loyal.sum()))
        rate = DISCOUNT_RATES[_pick(rng, DISCOUNT_WEIGHTS, m)]
        unit = w.product_price[product]
        gross = qty * unit
        l_disc = np.floor(gross * rate[l_order] + 0.5).astype(np.int64)
        l_amount = gross - l_disc
        l_cost = qty * w.product_cost[product]
        o_sub = np.bincount(l_order, weights=gross, minlength=m).astype(np.int64)
        o_disc = np.bincount(l_order, weights=l_disc, minlength=m).astype(np.int64)
        o_amount = np.bincount(l_order, weights=l_amount, minlength=m).astype(np.int64)
        o_cost = np.bincount(l_order, weights=l_cost, minlength=m).astype(np.int64)
        o_lines = np.bincount(l_order, minlength=m)

        # The held-out future goes to the truth table, not the order table.
        fut = ~past
        self.counts["future_orders"] += int(fut.sum())
        future_orders = np.bincount(o_cust[fut], minlength=n)
        future_revenue = np.bincount(o_cust[fut], weights=o_amount[fut], minlength=n).astype(np.int64)

        # Past orders get ids; lines follow their order.
        keep = np.flatnonzero(past)
        oid_of = np.full(m, -1, dtype=np.int64)
        oid_of[keep] = self.ids(Order, keep.size)
        l_keep = np.flatnonzero(past[l_order])
        lid = self.ids(OrderLine, l_keep.size)
        p_cust = o_cust[keep]

        # Where and through whom.
        channel = np.where(is_org[p_cust], _pick(rng, [0.3, 0.1, 0.05, 0.25, 0.3], keep.size),
                           _pick(rng, C.CHANNEL_WEIGHTS, keep.size))
        in_store = channel == 0
        store = np.where(in_store, home_store[p_cust], 0)
        rep = np.where(((channel == 0) | (channel == 3)) & (rng.random(keep.size) < 0.45), owner[p_cust], 0)
        prom_col = rng.integers(0, self.store_promoter_matrix.shape[1], keep.size)
        store_row = np.array([self.store_index.get(int(s), 0) for s in store.tolist()], dtype=np.int64)
        promoter = np.where(in_store & (rng.random(keep.size) < 0.6),
                            self.store_promoter_matrix[store_row, prom_col], 0)
        channel_ids = np.array([w.channel_ids[c[0]] for c in C.CHANNELS], dtype=np.int64)

        # Returns: one line of a few past orders, brought back within two weeks (and before now).
        cand = keep[rng.random(keep.size) < RETURN_SHARE]
        r_ts = o_ts[cand] + rng.integers(DAY, 14 * DAY, cand.size)
        ok = r_ts < self.now_ts
        cand, r_ts = cand[ok], r_ts[ok]
        first_line = np.searchsorted(l_order, cand)
        r_line = first_line + (rng.random(cand.size) * o_lines[cand]).astype(np.int64)
        line_pos = np.full(l_order.size, -1, dtype=np.int64)
        line_pos[l_keep] = np.arange(l_keep.size)
        r_amount = l_amount[r_line]
        r_ids = self.ids(Return, cand.size)
        rl_ids = self.ids(ReturnLine, cand.size)
        r_cust = o_cust[cand]

        # Totals on the customer: past orders minus returns.
        order_count = np.bincount(p_cust, minlength=n)
        revenue = (np.bincount(p_cust, weights=o_amount[keep], minlength=n)
                   - np.bincount(r_cust, weights=r_amount, minlength=n)).astype(np.int64)
        has_orders = order_count > 0
        first_ts = np.zeros(n, dtype=np.int64)
        last_ts = np.zeros(n, dtype=np.int64)
        uniq, first_idx = np.unique(p_cust, return_index=True)
        first_ts[uniq] = o_ts[keep][first_idx]
        last_idx = np.append(first_idx[1:], keep.size) - 1
        last_ts[uniq] = o_ts[keep][last_idx]
        since = (self.now_ts - last_ts) / DAY
        status = np.where(~has_orders, "prospect",
                          np.where(since < 365, "active", np.where(since < 540, "inactive", "lost")))

        # Tags from behaviour.
        past_lines = l_keep
        bought = {}
        for code in ("FORMULA", "DIAPER", "PHONE"):
            flag = np.zeros(n, dtype=bool)
            flag[l_cust[past_lines][l_cat[past_lines] == self.cat_index[code]]] = True
            bought[code] = flag
        tag_rows = [
            ("VIP", revenue >= 2_000_000),
            ("母婴", bought["FORMULA"] | bought["DIAPER"]),
            ("数码达人", bought["PHONE"] & (order_count >= 3)),
            ("企业客户", is_org),
            ("新客", has_orders & (first_ts >= self.now_ts - 90 * DAY)),
            ("团购", rng.random(n) < 0.02),
            ("沉睡", status == "lost"),
        ]

        # Organizations and their contact people.
        organization = np.zeros(n, dtype=np.int64)
        orgs = np.flatnonzero(is_org)
        if orgs.size:
            people = np.flatnonzero(~is_org[:n_base])
            take = rng.choice(people, size=min(people.size, orgs.size * 2), replace=False)
            organization[take] = cid[orgs[np.arange(take.size) % orgs.size]]

        tables: list[tuple[type, dict[str, Any]]] = []
        tables.append((Customer, self._customer_columns(
            rng, n, cid, created_ts, is_org, names, pinyin, initials, buyer, status, owner, team, gender_f, age_days,
            birth_known, occ_u, occ_r, urban, income, city, has_mobile, phone_key, has_email, email_domain,
            organization, english, email_src)))
        tables.append((CustomerStats, {
            "customer_id": cid, "order_count": order_count, "revenue": self.money(revenue),
            "first_order_at": self.ts(first_ts, has_orders), "last_order_at": self.ts(last_ts, has_orders)}))
        self._dup_src, self._dup_home = dup_src, dup_home
        tables.extend(self._contact_tables(rng, n, cid, created_ts, has_mobile, phone_key, has_email, is_org,
                                           pinyin, email_domain, urban, city))
        tables.append((CustomerTag, self._tag_columns(cid, tag_rows)))
        shared = np.flatnonzero(rng.random(n) < 0.01)
        tables.append((CustomerShare, {
            "id": self.ids(CustomerShare, shared.size), "customer_id": cid[shared],
            "team_id": w.branch_teams[branch[shared], 1 - team_pos[shared]]}))
        o_created = self.ts(o_ts[keep])
        o_amounts = self.money(o_amount[keep])
        r_amounts = self.money(r_amount)
        tables.append((Order, {
            "id": oid_of[keep], "created_at": o_created, "updated_at": o_created, "source": [C.SOURCE] * keep.size,
            "external_id": [None] * keep.size,
            "number": [f"SO{i:010d}" for i in oid_of[keep].tolist()], "customer_id": cid[p_cust],
            "store_id": _nullable(store), "channel_id": channel_ids[channel], "sales_rep_id": _nullable(rep),
            "promoter_id": _nullable(promoter), "ordered_at": o_created, "status": ["completed"] * keep.size,
            # The demo sells in the base currency (settings.CURRENCY): every order at rate 1.
            "currency": [base_currency()] * keep.size, "subtotal": self.money(o_sub[keep]),
            "discount": self.money(o_disc[keep]), "amount": o_amounts, "fx_rate": [1.0] * keep.size,
            "base_amount": o_amounts, "cost": self.money(o_cost[keep]), "line_count": o_lines[keep], "missing_lines": [0] * keep.size}))
        tables.append((OrderLine, {
            "id": lid, "order_id": oid_of[l_order[l_keep]], "customer_id": cid[l_cust[l_keep]],
            "product_id": w.product_ids[product[l_keep]], "quantity": qty[l_keep],
            "unit_price": self.money(unit[l_keep]), "discount": self.money(l_disc[l_keep]),
            "promotion_discount": self.money(l_disc[l_keep]),
            "amount": self.money(l_amount[l_keep]), "cost": self.money(l_cost[l_keep])}))
        r_when = self.ts(r_ts)
        reasons = np.array(C.RETURN_REASONS)[rng.integers(0, len(C.RETURN_REASONS), cand.size)].tolist()
        tables.append((Return, {
            "id": r_ids, "created_at": r_when, "updated_at": r_when, "source": [C.SOURCE] * cand.size,
            "external_id": [None] * cand.size, "order_id": oid_of[cand], "customer_id": cid[r_cust],
            "returned_at": r_when, "amount": r_amounts, "base_amount": r_amounts, "reason": reasons}))
        tables.append((ReturnLine, {
            "id": rl_ids, "ret_id": r_ids, "order_line_id": lid[line_pos[r_line]], "quantity": qty[r_line],
            "amount": r_amounts}))
        tables.append((Interaction, self._interaction_columns(
            rng, n, cid, created_ts, owner, is_org, oid_of[keep], o_ts[keep], p_cust, o_amount[keep], o_lines[keep],
            rep, channel, r_ids, r_ts, r_cust, oid_of[cand], r_amount, reasons)))
        acquired = self.ts(created_ts)
        dropped_valid = ~np.isnan(dropped)
        # Dropping out happens right after a purchase: the end of that purchase's day.
        dropped_ts = self.start_ts + (np.floor(np.nan_to_num(dropped)).astype(np.int64) + 1) * DAY - 1
        tables.append((CustomerTruth, {
            "customer_id": cid, "purchase_rate": lam, "dropout_prob": drop_p,
            "dropped_at": self.ts(dropped_ts, dropped_valid & buyer), "future_orders": future_orders,
            "future_revenue": self.money(future_revenue), "dup_group": _nullable(dup_group, empty=-1),
            "is_duplicate": np.arange(n) >= n_base, "acquired_at": acquired,
            "segment": np.array(self.segments)[segment].tolist(),
            "habit_category": [w.leaf_codes[c] if c >= 0 else "" for c in habit_cat.tolist()],
            "habit_cycle_days": [int(round(c)) if c > 0 else None for c in habit_cycle.tolist()]}))
        return tables

    # -- pieces ------------------------------------------------------------------------------------------------

    def _purchase_times(self, rng, n, buyer, t0, lam, drop_p, habit, habit_cycle):
        """BG/NBD purchases (first at t0; after each, drop with p; gaps ~ Exp(λ)) plus replenishment while alive.

        Returns customer index, time (days from history start), replenishment flag per order, and the drop time
        (NaN while still alive at the end of the simulated horizon)."""
        horizon = self.horizon
        dropped = np.full(n, np.nan)
        t = t0.copy()
        active = np.flatnonzero(buyer)
        cust, times = [active], [t[active].copy()]
        rate_per_day = lam / 365.0
        while active.size:
            leaves = rng.random(active.size) < drop_p[active]
            dropped[active[leaves]] = t[active[leaves]]
            active = active[~leaves]
            t[active] += rng.exponential(1.0 / rate_per_day[active])
            active = active[t[active] < horizon]
            cust.append(active)
            times.append(t[active].copy())
        n_disc = sum(c.size for c in cust)
        end = np.where(np.isnan(dropped), horizon, dropped)
        tr = t0 + habit_cycle * rng.uniform(0.3, 1.0, n)
        active = np.flatnonzero(habit & (tr < end))
        while active.size:
            cust.append(active)
            times.append(tr[active].copy())
            tr[active] += rng.gamma(12.0, habit_cycle[active] / 12.0)
            active = active[tr[active] < end[active]]
        all_cust = np.concatenate(cust)
        repl = np.zeros(all_cust.size, dtype=bool)
        repl[n_disc:] = True
        return all_cust, np.concatenate(times), repl, dropped

    def _names(self, rng, n, is_org, english, gender_f, surname, given_f, given_m, given_one, eng_first, eng_last,
               variant, city) -> list[str]:
        names = []
        org_word = rng.integers(0, len(C.ORG_WORDS), n)
        org_kind = rng.integers(0, len(C.ORG_SUFFIXES), n)
        self._org_kind = org_kind
        typo_pos = rng.random(n)
        for i in range(n):
            if is_org[i]:
                names.append(f"{self.w.city_name[city[i]]}{C.ORG_WORDS[org_word[i]]}{C.ORG_SUFFIXES[org_kind[i]][0]}")
                continue
            if english[i]:
                first, last = C.ENGLISH_FIRST[eng_first[i]], C.ENGLISH_LAST[eng_last[i]]
                if variant[i] == 1:  # a dropped letter
                    cut = 1 + int(typo_pos[i] * (len(first) - 1))
                    first = first[:cut] + first[cut + 1:]
                names.append(f"{last} {first}" if variant[i] == 2 else f"{first} {last}")
                continue
            given = GIVEN_F[given_f[i]] if gender_f[i] else GIVEN_M[given_m[i]]
            if given_one[i]:
                given = given[0]
            sur = SURNAMES[surname[i]]
            if variant[i] == 1:
                pos = int(typo_pos[i] * len(given))
                swapped = C.TYPO_CHARS.get(given[pos], given[pos])
                if swapped == given[pos]:
                    sur = C.TYPO_CHARS.get(sur, sur)
                given = given[:pos] + swapped + given[pos + 1:]
            names.append(f"{sur} {given}" if variant[i] == 2 else sur + given)
        return names

    def _customer_columns(self, rng, n, cid, created_ts, is_org, names, pinyin, initials, buyer, status, owner, team,
                          gender_f, age_days, birth_known, occ_u, occ_r, urban, income, city, has_mobile, phone_key,
                          has_email, email_domain, organization, english, email_src):
        w = self.w
        member = ~is_org & (rng.random(n) < np.where(status == "prospect", 0.4, 0.92))
        self.mobiles = _mobiles(phone_key, self.seed)
        self.emails = self._emails(cid, names, pinyin, is_org, email_domain, english, email_src)
        now_day = self.now_ts // DAY
        birth = (now_day - age_days).astype("datetime64[D]")
        birth_text = np.datetime_as_string(birth, unit="D").tolist()
        created = self.ts(created_ts)
        person = ~is_org
        return {
            "id": cid, "created_at": created, "updated_at": created, "source": [C.SOURCE] * n,
            "external_id": [None] * n, "kind": np.where(is_org, "organization", "person").tolist(),
            "organization_id": _nullable(organization), "name": names, "name_pinyin": pinyin,
            "name_initials": initials,
            "member_number": [f"M{i:09d}" if ok else None for i, ok in zip(cid.tolist(), member.tolist(), strict=True)],
            "status": status.tolist(), "owner_id": owner, "team_id": team,
            "gender": np.where(is_org, "", np.where(gender_f, "f", "m")).tolist(),
            "birth_date": [b if ok else None for b, ok in zip(birth_text, (birth_known & person).tolist(), strict=True)],
            "occupation": np.where(is_org, "", np.where(
                urban, np.array(C.OCCUPATIONS_URBAN)[occ_u], np.array(C.OCCUPATIONS_RURAL)[occ_r])).tolist(),
            "income_band": np.where(is_org, "", np.array(C.INCOME_BANDS)[income]).tolist(),
            "urban_rural": np.where(urban, "urban", "rural").tolist(),
            "id_number": [""] * n,
            "industry": [C.ORG_SUFFIXES[k][1] if o else "" for k, o in zip(self._org_kind.tolist(), is_org.tolist(),
                                                                           strict=True)],
            "province": [w.city_province[c] for c in city.tolist()], "city": [w.city_name[c] for c in city.tolist()],
            "mobile": [m if ok else "" for m, ok in zip(self.mobiles, has_mobile.tolist(), strict=True)],
            "email": [e if ok else "" for e, ok in zip(self.emails, has_email.tolist(), strict=True)],
            "custom": ["{}"] * n, "notes": [""] * n, "archived_at": [None] * n,
        }

    def _emails(self, cid, names, pinyin, is_org, domain, english, email_src) -> list[str]:
        """Addresses from the name's pinyin; a duplicate reuses its original's local part (maybe elsewhere)."""
        out = []
        keys = cid.tolist()
        for j, org, dom, eng in zip(email_src.tolist(), is_org.tolist(), domain.tolist(), english.tolist(),
                                    strict=True):
            key, py = keys[j], pinyin[j]
            if org:
                out.append(f"service{key % 100000}@{py[-12:] or 'corp'}.cn")
            elif eng:
                out.append(f"{names[j].replace(' ', '.').lower()}{key % 1000}@{C.EMAIL_DOMAINS[dom]}")
            else:
                out.append(f"{py[:16]}{key % 10000}@{C.EMAIL_DOMAINS[dom]}")
        return out

    def _contact_tables(self, rng, n, cid, created_ts, has_mobile, phone_key, has_email, is_org, pinyin, domain,
                        urban, city):
        w = self.w
        mob = np.flatnonzero(has_mobile)
        em = np.flatnonzero(has_email)
        addr = np.flatnonzero(~is_org & (rng.random(n) < 0.35))
        kinds = ["mobile"] * mob.size + ["email"] * em.size + ["address"] * addr.size
        owners = np.concatenate([mob, em, addr])
        mobiles, emails = self.mobiles, self.emails
        roads = ["人民", "解放", "建设", "中山", "和平", "新华", "长江", "黄河", "文化", "朝阳"]
        road = rng.integers(0, len(roads), addr.size)
        number = rng.integers(1, 999, addr.size)
        district = rng.integers(0, len(C.DISTRICTS), addr.size)
        values, normalized, labels = [], [], []
        for i in mob.tolist():
            values.append(mobiles[i])
            normalized.append(mobiles[i])
            labels.append("手机")
        for i in em.tolist():
            values.append(emails[i])
            normalized.append(emails[i])
            labels.append("邮箱")
        provinces, cities, districts = [""] * (mob.size + em.size), [""] * (mob.size + em.size), [""] * (mob.size + em.size)
        for k, i in enumerate(addr.tolist()):
            c = city[i]
            dist = C.DISTRICTS[district[k]]
            values.append(f"{w.city_province[c]}{w.city_name[c]}{dist}{roads[road[k]]}路{number[k]}号")
            normalized.append("")
            labels.append("家庭住址")
            provinces.append(w.city_province[c])
            cities.append(w.city_name[c])
            districts.append(dist)
        self._duplicate_homes(addr, owners, kinds, values, normalized, labels, provinces, cities, districts)
        owners = np.concatenate([owners, np.asarray(self._extra_home_owners, dtype=np.int64)])
        total = owners.size
        created = self.ts(created_ts[owners])
        contacts = {
            "id": self.ids(ContactPoint, total), "created_at": created, "updated_at": created,
            "source": [C.SOURCE] * total, "external_id": [None] * total, "customer_id": cid[owners], "kind": kinds,
            "value": values, "value_normalized": normalized, "label": labels, "is_primary": [True] * total,
            "status": ["valid"] * total, "province": provinces, "city": cities, "district": districts,
            "postal_code": [""] * total,
        }
        # Consent: SMS marketing (often granted, sometimes withdrawn), service calls, email marketing.
        c_owner = np.concatenate([mob, mob, em])
        c_channel = ["sms"] * mob.size + ["phone"] * mob.size + ["email"] * em.size
        c_purpose = ["marketing"] * mob.size + ["service"] * mob.size + ["marketing"] * em.size
        granted = np.concatenate([rng.random(mob.size) < 0.74, np.ones(mob.size, dtype=bool),
                                  rng.random(em.size) < 0.62])
        decided = self.ts(created_ts[c_owner] + rng.integers(0, 30 * DAY, c_owner.size) * ~granted)
        consents = {
            "id": self.ids(Consent, c_owner.size), "created_at": decided, "updated_at": decided,
            "customer_id": cid[c_owner], "channel": c_channel, "purpose": c_purpose,
            "status": np.where(granted, "granted", "withdrawn").tolist(), "decided_at": decided,
            "source": ["registration"] * c_owner.size,
        }
        return [(ContactPoint, contacts), (Consent, consents)]

    def _duplicate_homes(self, addr, owners, kinds, values, normalized, labels, provinces, cities, districts):
        """A duplicate's postal address is its original's home (DUP_SAME_HOME), written its own way (no province,
        no 号); one that gives nothing else again gets that home as a new address row. Edits the lists in place
        and leaves the owners of added rows in self._extra_home_owners."""
        self._extra_home_owners = []
        dup_src = self._dup_src
        dups = np.flatnonzero(dup_src >= 0)
        if not dups.size:
            return
        base = owners.size - addr.size  # address rows follow the mobile and email rows
        row_of = {int(i): base + k for k, i in enumerate(addr.tolist())}
        drng = self._drng
        same_home = drng.random(dups.size) < DUP_SAME_HOME
        style = drng.integers(0, 3, dups.size)
        for j, d in enumerate(dups.tolist()):
            home = row_of.get(int(dup_src[d]))
            if home is None:
                continue
            value = values[home]
            if style[j] == 1:
                value = value[len(provinces[home]):]
            elif style[j] == 2:
                value = value.removesuffix("号")
            row = row_of.get(d)
            if row is not None and same_home[j]:
                values[row], provinces[row], cities[row], districts[row] = (
                    value, provinces[home], cities[home], districts[home])
            elif row is None and self._dup_home[d]:
                self._extra_home_owners.append(d)
                kinds.append("address")
                values.append(value)
                normalized.append("")
                labels.append("家庭住址")
                provinces.append(provinces[home])
                cities.append(cities[home])
                districts.append(districts[home])

    def _tag_columns(self, cid, tag_rows):
        cust, tags = [], []
        for name, flag in tag_rows:
            idx = np.flatnonzero(flag)
            cust.append(cid[idx])
            tags.append(np.full(idx.size, self.w.tag_ids[name], dtype=np.int64))
        cust_all = np.concatenate(cust)
        return {"id": self.ids(CustomerTag, cust_all.size), "customer_id": cust_all, "tag_id": np.concatenate(tags)}

    def _interaction_columns(self, rng, n, cid, created_ts, owner, is_org, order_ids, order_ts, order_cust,
                             order_amount, order_lines, rep, channel, r_ids, r_ts, r_cust, r_order, r_amount, reasons):
        """The timeline: one purchase row per order, one per return, and staff touches (calls, visits, SMS...)."""
        n_touch = rng.poisson(np.where(is_org, 3.0, 1.2))
        t_cust = np.repeat(np.arange(n), n_touch)
        span = np.maximum(self.now_ts - created_ts[t_cust], 3600)
        t_ts = created_ts[t_cust] + (rng.random(t_cust.size) * span).astype(np.int64)
        kind = _pick(rng, C.TOUCH_WEIGHTS, t_cust.size)
        subj = rng.integers(0, 8, t_cust.size)
        by_agent = (kind == 1) & (rng.random(t_cust.size) < 0.6)
        agents = np.array(self.w.agent_ids, dtype=np.int64)
        t_actor = np.where(by_agent, agents[rng.integers(0, agents.size, t_cust.size)], owner[t_cust])
        channel_codes = [c[0] for c in C.CHANNELS]

        kinds = ["purchase"] * order_ids.size + ["return"] * r_ids.size
        directions = [""] * (order_ids.size + r_ids.size)
        subjects = [f"订单 SO{o:010d}" for o in order_ids.tolist()]
        subjects += [f"退货 SO{o:010d}" for o in r_order.tolist()]
        payloads = [
            f'{{"number": "SO{o:010d}", "amount": "{a // 100}.{a % 100:02d}", "lines": {k}, '
            f'"channel": "{channel_codes[c]}"}}'
            for o, a, k, c in zip(order_ids.tolist(), order_amount.tolist(), order_lines.tolist(), channel.tolist(),
                                  strict=True)
        ]
        payloads += [
            f'{{"number": "SO{o:010d}", "amount": "{a // 100}.{a % 100:02d}", '
            f'"reason": {json.dumps(r, ensure_ascii=False)}}}'
            for o, a, r in zip(r_order.tolist(), r_amount.tolist(), reasons, strict=True)
        ]
        for k, s in zip(kind.tolist(), subj.tolist(), strict=True):
            kname, direction, options = C.TOUCHES[k]
            kinds.append(kname)
            directions.append(direction)
            subjects.append(options[s % len(options)])
            payloads.append("{}")
        total = len(kinds)
        when_ts = np.concatenate([order_ts, r_ts, t_ts])
        when = self.ts(when_ts)
        actor = np.concatenate([rep, np.zeros(r_ids.size, dtype=np.int64), t_actor])
        ref_ids = [*order_ids.tolist(), *r_ids.tolist(), *([None] * t_cust.size)]
        return {
            "id": self.ids(Interaction, total), "created_at": when, "updated_at": when, "source": [C.SOURCE] * total,
            "external_id": [None] * total,
            "customer_id": np.concatenate([cid[order_cust], cid[r_cust], cid[t_cust]]), "kind": kinds,
            "direction": directions, "occurred_at": when, "actor_id": _nullable(actor), "subject": subjects,
            "body": [""] * total, "payload": payloads,
            "ref_type": ["order"] * order_ids.size + ["return"] * r_ids.size + [""] * t_cust.size,
            "ref_id": ref_ids,
        }


def _nullable(values: np.ndarray, empty: int = 0) -> list:
    return [None if v == empty else v for v in values.tolist()]


def _mobiles(keys: np.ndarray, seed: int) -> list[str]:
    """Valid, distinct CN mobile numbers in E.164: a bijection of the key onto 8 digits under a valid prefix."""
    prefixes = np.array(C.MOBILE_PREFIXES, dtype=np.int64)
    digits = (keys * 48_271 + 10_000_019 + seed * 7_919) % 100_000_000
    prefix = prefixes[(keys * 13 + seed) % prefixes.size]
    return [f"+86{p}{d:08d}" for p, d in zip(prefix.tolist(), digits.tolist(), strict=True)]
