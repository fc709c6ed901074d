"""Feature SQL over a snapshot, parameterised by a cut-off date (`as_of`), run by DuckDB or Spark.

Written once in DuckDB's dialect with portable constructs only (integer day arithmetic, CASE, GROUP BY, window
ARG_MIN, which Spark calls MIN_BY); `engines.SparkEngine` prints it for Spark with sqlglot. Days are local calendar days as integers
(days since 1970-01-01, see extract.py); `as_of` is the last day observed, inclusive. A customer starts on the
earlier of "customer since" (Customer.customer_since) and their first completed order; only when neither is known
does the row's creation day stand in (a prospect entered without a date). Customers who start after `as_of` do
not exist yet at that date and are left out, so features "as of" a past date are what one would have seen that
day, and imported history (rows created on the import day) can be scored as of any day inside it.

Per-customer columns (FEATURE_COLUMNS documents each); per-customer-per-category history for next-purchase
(CATEGORY_COLUMNS); purchases in a later window for validation and labels (`activity_sql`).
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from clientwise.analytics.engines import Engine

EPOCH = dt.date(1970, 1, 1)
AGE_BANDS = ((25, "18-24"), (35, "25-34"), (45, "35-44"), (55, "45-54"), (65, "55-64"))
CHANNEL_KINDS = ("store", "web", "app", "phone", "partner")

# name → meaning (docs/analytics.md prints this table).
FEATURE_COLUMNS: dict[str, str] = {
    "customer_id": "customer id",
    "kind": "person or organization",
    "organization_id": "organization a contact belongs to",
    "owner_id": "owning user",
    "team_id": "owning team",
    "province": "province",
    "city": "city",
    "urban_rural": "urban / rural / '' unknown",
    "gender": "f / m / '' unknown",
    "income_band": "income band",
    "age": "age in years at the cut-off (null unknown)",
    "age_band": "age band: 18-24, 25-34, 35-44, 45-54, 55-64, 65+ ('' unknown)",
    "tenure_days": "days from the customer's start (customer since or first order, the earlier) to the cut-off",
    "frequency": "repeat purchase days: days with a purchase after the first purchase day (BTYD x)",
    "recency_days": "days from the first to the last purchase day (BTYD t_x; 0 without a repeat purchase)",
    "T_days": "days from the first purchase day to the cut-off (BTYD T; null without purchases)",
    "monetary": "mean spend per repeat purchase day (BTYD m_x; 0 without a repeat purchase)",
    "first_day": "first purchase day (day number)",
    "last_day": "last purchase day (day number)",
    "days_since_last": "days from the last purchase day to the cut-off (null without purchases)",
    "mean_gap_days": "mean days between purchase days (recency_days / frequency; null below 2 purchase days)",
    "orders_total": "completed orders up to the cut-off",
    "revenue_total": "their amount less what was returned on them up to the cut-off: as of today, the customer's "
                     "stored revenue (CustomerStats.revenue, commerce.services.purchase_totals)",
    "margin_total": "their amount minus cost, less the margin of goods returned up to the cut-off",
    "orders_90d": "orders in the 90 days up to the cut-off",
    "revenue_90d": "amount in those 90 days",
    "margin_90d": "margin in those 90 days",
    "orders_365d": "orders in the 365 days up to the cut-off",
    "revenue_365d": "amount in those 365 days, net of returns in that period",
    "margin_365d": "margin in those 365 days, net of the margin of goods returned in that period",
    "n_categories": "distinct product categories bought",
    "returns_total": "returns up to the cut-off",
    "returns_365d": "returns in the 365 days up to the cut-off",
    "returns_amount": "amount returned up to the cut-off",
    "share_store": "share of orders in a store (likewise share_web, share_app, share_phone, share_partner)",
    "web_share": "share of orders through the web or the app",
    "acquisition_channel": "channel code of the first order",
    "total_demand": "the customer's recorded yearly demand (custom attribute ANALYTICS_DEMAND_ATTRIBUTE), if any",
}
CATEGORY_COLUMNS: dict[str, str] = {
    "customer_id": "customer id",
    "category_id": "product category id (leaf)",
    "category": "category code",
    "replenishable": "whether the category is bought again on a cycle",
    "cycle_days": "the category's typical cycle in days (catalog), may be null",
    "purchase_days": "days the customer bought from the category",
    "first_day": "first such day (day number)",
    "last_day": "last such day (day number)",
    "quantity": "units bought",
    "amount": "amount spent",
}


def day_number(day: dt.date) -> int:
    return (day - EPOCH).days


def from_day(number: int) -> dt.date:
    return EPOCH + dt.timedelta(days=int(number))


def _orders_cte(as_of: int) -> str:
    return f"""o AS (
    SELECT od.id, od.customer_id, od.day, od.amount, od.cost, od.fx_rate, ch.kind AS channel_kind,
           ch.code AS channel_code
    FROM orders od LEFT JOIN channels ch ON ch.id = od.channel_id
    WHERE od.day <= {as_of}
)"""


def customer_features_sql(as_of: dt.date) -> str:
    """One row per customer registered on or before `as_of`, ordered by customer_id."""
    a = day_number(as_of)
    d90, d365 = a - 90, a - 365
    age = " ".join(f"WHEN {a} - c.birth_day < {int(years * 365.25)} THEN '{label}'" for years, label in AGE_BANDS)
    channel_counts = ",\n        ".join(
        f"CAST(SUM(CASE WHEN channel_kind = '{k}' THEN 1 ELSE 0 END) AS BIGINT) AS n_{k}" for k in CHANNEL_KINDS)
    channel_shares = ",\n    ".join(
        f"CASE WHEN s.orders > 0 THEN s.n_{k} / s.orders ELSE 0.0 END AS share_{k}" for k in CHANNEL_KINDS)
    return f"""
WITH {_orders_cte(a)},
pd AS (
    SELECT customer_id, day, SUM(amount) AS amount FROM o GROUP BY customer_id, day
),
btyd AS (
    -- ARG_MIN (Spark: MIN_BY) over purchase days: the first day's spend, left out of the repeat spend
    SELECT customer_id, CAST(COUNT(*) - 1 AS BIGINT) AS frequency, MIN(day) AS first_day, MAX(day) AS last_day,
           SUM(amount) - ARG_MIN(amount, day) AS repeat_amount
    FROM pd GROUP BY customer_id
),
s AS (
    SELECT customer_id,
        CAST(COUNT(*) AS BIGINT) AS orders,
        SUM(amount) AS revenue,
        SUM(amount - cost) AS margin,
        CAST(SUM(CASE WHEN day > {d90} THEN 1 ELSE 0 END) AS BIGINT) AS orders_90,
        SUM(CASE WHEN day > {d90} THEN amount ELSE 0.0 END) AS revenue_90,
        SUM(CASE WHEN day > {d90} THEN amount - cost ELSE 0.0 END) AS margin_90,
        CAST(SUM(CASE WHEN day > {d365} THEN 1 ELSE 0 END) AS BIGINT) AS orders_365,
        SUM(CASE WHEN day > {d365} THEN amount ELSE 0.0 END) AS revenue_365,
        SUM(CASE WHEN day > {d365} THEN amount - cost ELSE 0.0 END) AS margin_365,
        {channel_counts},
        -- the first order's channel (earliest day, then lowest id; ids stay below 10^11)
        ARG_MIN(channel_code, CAST(day AS BIGINT) * 100000000000 + id) AS acquisition_channel
    FROM o GROUP BY customer_id
),
ret AS (
    SELECT r.customer_id,
        CAST(COUNT(*) AS BIGINT) AS returns,
        SUM(r.amount) AS returns_amount,
        CAST(SUM(CASE WHEN r.day > {d365} THEN 1 ELSE 0 END) AS BIGINT) AS returns_365n,
        SUM(CASE WHEN r.day > {d365} THEN r.amount ELSE 0.0 END) AS returns_365,
        SUM(CASE WHEN r.day > {d365} AND ro.amount > 0 THEN r.amount * (ro.amount - ro.cost) / ro.amount
                 ELSE 0.0 END) AS returns_margin_365,
        -- returns on counted orders (the snapshot's orders): what the stored revenue subtracts
        SUM(CASE WHEN ro.id IS NOT NULL THEN r.amount ELSE 0.0 END) AS returns_counted,
        SUM(CASE WHEN ro.amount > 0 THEN r.amount * (ro.amount - ro.cost) / ro.amount ELSE 0.0 END)
            AS returns_margin
    FROM returns r LEFT JOIN orders ro ON ro.id = r.order_id
    WHERE r.day <= {a}
    GROUP BY r.customer_id
),
cats AS (
    SELECT l.customer_id, CAST(COUNT(DISTINCT p.category_id) AS BIGINT) AS categories
    FROM lines l JOIN o ON o.id = l.order_id JOIN products p ON p.id = l.product_id
    GROUP BY l.customer_id
),
starts AS (
    -- every completed order, not only those up to the cut-off: a customer whose first order comes later has not
    -- started yet at the cut-off
    SELECT customer_id, MIN(day) AS first_order_day FROM orders GROUP BY customer_id
),
c AS (
    SELECT cu.*, COALESCE(CASE WHEN cu.since_day IS NULL THEN st.first_order_day
                               WHEN st.first_order_day IS NULL THEN cu.since_day
                               WHEN cu.since_day < st.first_order_day THEN cu.since_day
                               ELSE st.first_order_day END, cu.created_day) AS start_day
    FROM customers cu LEFT JOIN starts st ON st.customer_id = cu.id
)
SELECT
    c.id AS customer_id,
    c.kind,
    c.organization_id,
    c.owner_id,
    c.team_id,
    COALESCE(c.province, '') AS province,
    COALESCE(c.city, '') AS city,
    COALESCE(c.urban_rural, '') AS urban_rural,
    COALESCE(c.gender, '') AS gender,
    COALESCE(c.income_band, '') AS income_band,
    CAST({a} - c.birth_day AS DOUBLE) / 365.25 AS age,
    CASE WHEN c.birth_day IS NULL THEN '' {age} ELSE '65+' END AS age_band,
    {a} - c.start_day AS tenure_days,
    COALESCE(b.frequency, 0) AS frequency,
    CASE WHEN b.first_day IS NULL THEN 0 ELSE b.last_day - b.first_day END AS recency_days,
    {a} - b.first_day AS T_days,
    CASE WHEN b.frequency > 0 THEN b.repeat_amount / b.frequency ELSE 0.0 END AS monetary,
    b.first_day,
    b.last_day,
    {a} - b.last_day AS days_since_last,
    CASE WHEN b.frequency > 0 THEN (b.last_day - b.first_day) / b.frequency END AS mean_gap_days,
    COALESCE(s.orders, 0) AS orders_total,
    COALESCE(s.revenue, 0.0) - COALESCE(ret.returns_counted, 0.0) AS revenue_total,
    COALESCE(s.margin, 0.0) - COALESCE(ret.returns_margin, 0.0) AS margin_total,
    COALESCE(s.orders_90, 0) AS orders_90d,
    COALESCE(s.revenue_90, 0.0) AS revenue_90d,
    COALESCE(s.margin_90, 0.0) AS margin_90d,
    COALESCE(s.orders_365, 0) AS orders_365d,
    COALESCE(s.revenue_365, 0.0) - COALESCE(ret.returns_365, 0.0) AS revenue_365d,
    COALESCE(s.margin_365, 0.0) - COALESCE(ret.returns_margin_365, 0.0) AS margin_365d,
    COALESCE(cats.categories, 0) AS n_categories,
    COALESCE(ret.returns, 0) AS returns_total,
    COALESCE(ret.returns_365n, 0) AS returns_365d,
    COALESCE(ret.returns_amount, 0.0) AS returns_amount,
    {channel_shares},
    CASE WHEN s.orders > 0 THEN (s.n_web + s.n_app) / s.orders ELSE 0.0 END AS web_share,
    COALESCE(s.acquisition_channel, '') AS acquisition_channel,
    c.total_demand
FROM c
LEFT JOIN btyd b ON b.customer_id = c.id
LEFT JOIN s ON s.customer_id = c.id
LEFT JOIN ret ON ret.customer_id = c.id
LEFT JOIN cats ON cats.customer_id = c.id
WHERE c.start_day <= {a}
ORDER BY c.id
"""


def category_history_sql(as_of: dt.date) -> str:
    """One row per (customer, leaf category) bought up to `as_of`, ordered by customer_id, category_id."""
    a = day_number(as_of)
    return f"""
WITH {_orders_cte(a)}
SELECT l.customer_id, p.category_id, cat.code AS category, cat.replenishable, cat.cycle_days,
       CAST(COUNT(DISTINCT o.day) AS BIGINT) AS purchase_days, MIN(o.day) AS first_day, MAX(o.day) AS last_day,
       CAST(SUM(l.quantity) AS DOUBLE) AS quantity,  -- fractions (kg, L) kept
       SUM(l.amount * o.fx_rate) AS amount  -- in the base currency
FROM lines l
JOIN o ON o.id = l.order_id
JOIN products p ON p.id = l.product_id
JOIN categories cat ON cat.id = p.category_id
GROUP BY l.customer_id, p.category_id, cat.code, cat.replenishable, cat.cycle_days
ORDER BY l.customer_id, p.category_id
"""


def activity_sql(start: dt.date, end: dt.date) -> str:
    """Per customer with a purchase in (start, end]: purchase days, orders, amount and the first and last
    purchase day in that window."""
    s, e = day_number(start), day_number(end)
    return f"""
SELECT customer_id, CAST(COUNT(DISTINCT day) AS BIGINT) AS purchase_days, CAST(COUNT(*) AS BIGINT) AS orders,
       SUM(amount) AS amount, MIN(day) AS first_day, MAX(day) AS last_day
FROM orders
WHERE day > {s} AND day <= {e}
GROUP BY customer_id
ORDER BY customer_id
"""


def category_activity_sql(start: dt.date, end: dt.date, *, replenishable_only: bool = True) -> str:
    """Per (customer, category code) bought in (start, end]: purchase days and the first such day."""
    s, e = day_number(start), day_number(end)
    only = "AND cat.replenishable" if replenishable_only else ""
    return f"""
SELECT l.customer_id, cat.code AS category, CAST(COUNT(DISTINCT o.day) AS BIGINT) AS purchase_days,
       MIN(o.day) AS first_day
FROM lines l
JOIN orders o ON o.id = l.order_id
JOIN products p ON p.id = l.product_id
JOIN categories cat ON cat.id = p.category_id
WHERE o.day > {s} AND o.day <= {e} {only}
GROUP BY l.customer_id, cat.code
ORDER BY l.customer_id, cat.code
"""


def orders_sql(as_of: dt.date) -> str:
    """Completed orders up to `as_of` (the next-purchase model's input): order_id, customer_id, ordered_at
    (UTC), day, amount."""
    return f"""
SELECT id AS order_id, customer_id, ordered_at, day, amount
FROM orders
WHERE day <= {day_number(as_of)}
ORDER BY customer_id, ordered_at, id
"""


def lines_sql(as_of: dt.date, *, replenishable_only: bool = False) -> str:
    """Order lines of completed orders up to `as_of` with their order time, product category and margin (the
    next-purchase and recommendation models' input)."""
    only = "AND cat.replenishable" if replenishable_only else ""
    return f"""
SELECT l.order_id, l.customer_id, o.ordered_at, o.day, l.product_id, cat.code AS category, cat.replenishable,
       l.quantity, l.amount * o.fx_rate AS amount, l.amount * o.fx_rate - l.cost AS margin  -- base currency
FROM lines l
JOIN orders o ON o.id = l.order_id
JOIN products p ON p.id = l.product_id
JOIN categories cat ON cat.id = p.category_id
WHERE o.day <= {day_number(as_of)} {only}
ORDER BY l.customer_id, o.ordered_at, l.order_id
"""


def catalog_sql() -> str:
    """Products with their category (names for reasons, replenishable flags, catalog cycles)."""
    return """
SELECT p.id AS product_id, p.sku, p.name, cat.code AS category, cat.name AS category_name, cat.replenishable,
       cat.cycle_days
FROM products p JOIN categories cat ON cat.id = p.category_id
ORDER BY p.id
"""


def customer_features(engine: Engine, as_of: dt.date) -> pa.Table:
    return engine.arrow(customer_features_sql(as_of))


def category_history(engine: Engine, as_of: dt.date) -> pa.Table:
    return engine.arrow(category_history_sql(as_of))


def activity(engine: Engine, start: dt.date, end: dt.date) -> pa.Table:
    return engine.arrow(activity_sql(start, end))
