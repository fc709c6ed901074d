"""A grocery-shaped basket simulation for the recommender's tests and bench (bench/bench_recommend.py).

A year of baskets: a catalogue with long-tail (Zipf) popularity, customers who shop about weekly with 10-30
products per basket, a handful of personal staples each bought on most trips, a "taste" (one of a few dozen
groups of related products: baby, pet, vegan ...) that shows up in part of their baskets, and the rest filled
from the catalogue's popularity. Some customers stop shopping part-way through. The output is order lines in
the recommender's input contract (recommend.py): order_id, customer_id, day (day number), product_id.

Pure NumPy/pandas, seeded; nothing here is used by the product itself.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

START_DAY = 20_454  # 2026-01-01 as days since 1970-01-01


def grocery_lines(*, customers: int = 2_500, products: int = 70_000, days: int = 365, seed: int = 0,
                  zipf: float = 0.8, tastes: int = 40, taste_size: int = 60,
                  start_day: int = START_DAY) -> pd.DataFrame:
    """Order lines of `customers` shoppers over `days` days from `start_day` (see the module docstring)."""
    rng = np.random.default_rng(seed)
    rank_weight = 1.0 / np.arange(1, products + 1) ** zipf
    popularity = rank_weight / rank_weight.sum()
    cum = np.cumsum(popularity)
    # Product ids are shuffled against popularity rank, so "low id" means nothing.
    ids = rng.permutation(products).astype(np.int64) + 1
    # A taste group: related products from the upper-middle of the catalogue (ranks 50 .. 5,000).
    taste_items = [rng.choice(np.arange(50, min(products, 5_000)), size=taste_size, replace=False)
                   for _ in range(tastes)]
    order_id = 0
    parts = []
    for c in range(customers):
        gap = rng.choice([4, 7, 7, 10, 14, 21, 30, 45, 60])  # mean days between trips
        churn_at = days if rng.random() > 0.25 else int(rng.integers(30, days))
        first = int(rng.integers(0, 21))
        trip_days = []
        t = first
        while t < min(days, churn_at):
            trip_days.append(t)
            t += max(1, int(rng.poisson(gap)))
        if not trip_days:
            continue
        n_staples = int(rng.integers(4, 16))
        staples = np.unique(np.searchsorted(cum, rng.random(n_staples) ** 1.6 * cum[min(products, 3_000) - 1]))
        staple_p = rng.uniform(0.35, 0.9, staples.size)
        taste = taste_items[int(rng.integers(tastes))]
        taste_share = rng.uniform(0.1, 0.35)
        for day in trip_days:
            size = int(rng.integers(10, 31))
            basket = staples[rng.random(staples.size) < staple_p]
            n_taste = rng.binomial(size, taste_share)
            fill = size - basket.size - n_taste
            chosen = [basket, rng.choice(taste, size=min(n_taste, taste.size), replace=False)]
            if fill > 0:
                chosen.append(np.searchsorted(cum, rng.random(fill) * cum[-1]))
            items = np.unique(np.concatenate(chosen))
            items = items[items < products]
            order_id += 1
            parts.append((np.full(items.size, order_id, dtype=np.int64), np.full(items.size, c + 1, dtype=np.int64),
                          np.full(items.size, start_day + day, dtype=np.int64), ids[items]))
    order, customer, day, product = (np.concatenate(col) for col in zip(*parts, strict=True))
    return pd.DataFrame({"order_id": order, "customer_id": customer, "day": day, "product_id": product})


def light_lines(*, customers: int = 100_000, products: int = 5_000, days: int = 365, seed: int = 0,
                orders: float = 4.0, items: float = 2.5, zipf: float = 0.9, start_day: int = START_DAY) -> pd.DataFrame:
    """Many light shoppers (the 1M-customer shape): Poisson(`orders`) orders per customer on random days and
    1 + Poisson(`items` − 1) products per order from a Zipf catalogue, each customer leaning to one of 50 groups of
    related products (half of the items). Vectorised, no per-customer loop."""
    rng = np.random.default_rng(seed)
    weight = 1.0 / np.arange(1, products + 1) ** zipf
    cum = np.cumsum(weight / weight.sum())
    groups = rng.integers(0, products, size=(50, 40))
    n_orders = rng.poisson(orders, customers)
    order_cust = np.repeat(np.arange(1, customers + 1, dtype=np.int64), n_orders)
    order_day = start_day + rng.integers(0, days, order_cust.size)
    n_items = 1 + rng.poisson(items - 1, order_cust.size)
    line_order = np.repeat(np.arange(order_cust.size, dtype=np.int64), n_items)
    cust = order_cust[line_order]
    group = groups[(cust * 7919) % 50]
    from_group = rng.random(line_order.size) < 0.5
    product = np.where(from_group, group[np.arange(line_order.size), rng.integers(0, 40, line_order.size)],
                       np.searchsorted(cum, rng.random(line_order.size) * cum[-1]))
    return pd.DataFrame({"order_id": line_order + 1, "customer_id": cust, "day": order_day[line_order],
                         "product_id": product.astype(np.int64) + 1})
