"""Recommendations: co-purchase association rules, item-to-item similarity, the next products per customer.

Pure Python over pandas/NumPy/SciPy/DuckDB (no Django), so it can be checked on outside data.

Input contract — order lines (the pipeline produces exactly these; extra columns are ignored):

    order_id, customer_id, ordered_at (datetime64), product_id, category (code), replenishable (bool),
    quantity, amount, margin

Association rules (`build_rules`) are pairwise, X → Y, over baskets (an order, or everything a customer
bought): with N baskets, n(X) baskets holding X and n(XY) holding both,

    support = n(XY) / N,   confidence = n(XY) / n(X),   lift = confidence / (n(Y) / N)

computed set-wise from a sparse basket × item incidence matrix B: the co-occurrence counts are BᵀB, its
diagonal the item counts — no loop over baskets. Items are products or categories (`level`).

Similarity (`item_similarity`) is the cosine of two products' columns in the customer × product incidence
matrix: |customers who bought both| / sqrt(|bought X| · |bought Y|).

`recommend` scores each product Y a customer has not bought recently by its best link from something X the
customer bought in the last `history_days`:

    link(X → Y) = rule_weight · confidence(X → Y) + (1 − rule_weight) · similarity(X, Y)
    score(customer, Y) = max over X of link(X → Y)

and keeps the top k with X as the reason ("bought X; customers who buy X also buy Y, lift 3.2"). Products
bought within `recent_days` are skipped unless they are replenishable (formula, ink: buying them again is
the point). The candidate join and the top-k run in DuckDB.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

RULE_COLUMNS = ["antecedent", "consequent", "count", "antecedent_count", "consequent_count", "baskets",
                "support", "confidence", "lift"]
SIMILARITY_COLUMNS = ["item", "other", "similarity", "common"]
RECOMMENDATION_COLUMNS = ["customer_id", "rank", "product_id", "score", "because_product_id", "confidence",
                          "lift", "similarity", "reason"]


def _incidence(keys: pd.Series, items: pd.Series) -> tuple[sparse.csr_matrix, np.ndarray]:
    """Binary key × item matrix (CSR, int32) and the item labels of its columns."""
    k_codes, _ = pd.factorize(keys, sort=False)
    i_codes, i_labels = pd.factorize(items, sort=True)
    ok = (k_codes >= 0) & (i_codes >= 0)
    m = sparse.csr_matrix((np.ones(int(ok.sum()), dtype=np.int32), (k_codes[ok], i_codes[ok])),
                          shape=(int(k_codes.max(initial=-1)) + 1, len(i_labels)))
    m.sum_duplicates()
    m.data[:] = 1  # bought at all, not how often
    return m, np.asarray(i_labels)


def build_rules(lines: pd.DataFrame, *, min_support: float = 0.001, min_confidence: float = 0.05,
                min_count: int = 2, level: str = "product", basket: str = "order") -> pd.DataFrame:
    """Pairwise association rules X → Y with support, confidence and lift.

    level: "product" (product_id) or "category"; basket: "order" (bought together) or "customer" (bought by
    the same customer). Keeps rules with at least `min_count` baskets, support ≥ min_support and
    confidence ≥ min_confidence; sorted by antecedent, then lift (highest first). Columns RULE_COLUMNS.
    """
    item_col = {"product": "product_id", "category": "category"}[level]
    key_col = {"order": "order_id", "customer": "customer_id"}[basket]
    if lines.empty:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in RULE_COLUMNS})
    B, labels = _incidence(lines[key_col], lines[item_col])
    n = B.shape[0]
    counts = np.asarray(B.sum(axis=0)).ravel().astype(np.int64)
    co = (B.T @ B).tocoo()
    off = co.row != co.col
    a, b, nab = co.row[off], co.col[off], co.data[off].astype(np.int64)
    na, nb = counts[a], counts[b]
    support = nab / n
    confidence = nab / na
    keep = (nab >= min_count) & (support >= min_support) & (confidence >= min_confidence)
    a, b, nab, na, nb = a[keep], b[keep], nab[keep], na[keep], nb[keep]
    out = pd.DataFrame({
        "antecedent": labels[a], "consequent": labels[b], "count": nab, "antecedent_count": na,
        "consequent_count": nb, "baskets": n, "support": nab / n, "confidence": nab / na,
        "lift": (nab / na) / (nb / n),
    })
    return out.sort_values(["antecedent", "lift", "consequent"], ascending=[True, False, True],
                           kind="stable").reset_index(drop=True)


def item_similarity(lines: pd.DataFrame, *, level: str = "product", top_n: int = 20,
                    min_common: int = 2) -> pd.DataFrame:
    """Cosine similarity of items over the customer × item incidence, the `top_n` most similar per item.

    Pairs bought by fewer than `min_common` customers in common are left out (one shared customer is
    noise). Columns SIMILARITY_COLUMNS; each pair appears in both directions.
    """
    item_col = {"product": "product_id", "category": "category"}[level]
    if lines.empty:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in SIMILARITY_COLUMNS})
    X, labels = _incidence(lines["customer_id"], lines[item_col])
    counts = np.asarray(X.sum(axis=0)).ravel().astype(float)
    co = (X.T @ X).tocoo()
    keep = (co.row != co.col) & (co.data >= min_common)
    i, j, common = co.row[keep], co.col[keep], co.data[keep].astype(np.int64)
    sim = common / np.sqrt(counts[i] * counts[j])
    out = pd.DataFrame({"item": labels[i], "other": labels[j], "similarity": sim, "common": common})
    out = out.sort_values(["item", "similarity", "other"], ascending=[True, False, True], kind="stable")
    out = out[out.groupby("item", sort=False).cumcount() < top_n]
    return out.reset_index(drop=True)



# ---------------------------------------------------------------------------------------------------------------
# The recommender: repeat purchases, products bought together, popularity — one probability-like score.

REPEAT_BUCKETS = (1, 2, 3, 5, 10)  # lower bounds of "bought on n orders" buckets: 1, 2, 3-4, 5-9, 10+
KINDS = ("repeat", "together", "popular")
TOP_COLUMNS = ["customer_id", "rank", "product_id", "score", "kind", "because_product_id", "times_bought",
               "repeat_rate", "lift", "confidence", "new_rate"]


@dataclass(frozen=True)
class Recommender:
    """Fitted by `fit_recommender` as of a day. Column j of every per-product array is product `items[j]`.

    new_rate[j]       P(an active customer who had not bought j buys it in the next `window_days`)
    repeat_rate[j]    P(an active customer who had bought j buys it again in the next `window_days`), smoothed
    repeat_boost[b]   how much more (or less) likely a rebuy is for a customer who bought it on n orders (bucket b
                      of REPEAT_BUCKETS) than on average
    links             item × item, the excess lift (lift − 1 > 0) of the `neighbours` strongest links per item
    confidence        the same cells: the share of the item's buyers who also bought the linked one
    """

    as_of_day: int
    window_days: int
    history_days: int
    items: np.ndarray
    new_rate: np.ndarray
    repeat_rate: np.ndarray
    repeat_boost: np.ndarray
    buyers: np.ndarray
    links: sparse.csr_matrix
    confidence: sparse.csr_matrix
    parameters: dict


def _first_on_order(order: np.ndarray, u: np.ndarray, n_items: int) -> np.ndarray:
    """Mask of each product's first line on its order (a hash pass, no sort): a product twice on an order
    counts once."""
    return ~pd.Series(order.astype(np.int64) * n_items + u).duplicated().to_numpy()


def _unique_pairs(c: np.ndarray, u: np.ndarray, order: np.ndarray | None, n_items: int,
                  n_customers: int) -> tuple[np.ndarray, ...]:
    """Distinct (customer code, item code) with the number of distinct orders holding the item, sorted by
    customer then item (`order` None: the lines are already one per order and product). The counts come from
    building a sparse matrix (a counting sort, no comparison sort of the lines)."""
    if order is not None:
        first = _first_on_order(order, u, n_items)
        c, u = c[first], u[first]
    m = sparse.csr_matrix((np.ones(c.size), (c, u)), shape=(n_customers, n_items))
    m.sum_duplicates()
    rows = np.repeat(np.arange(n_customers, dtype=np.int64), np.diff(m.indptr))
    return rows, m.indices.astype(np.int64), m.data.astype(np.int64)


def _member(sorted_keys: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """keys ∈ sorted_keys (both int64; sorted_keys ascending and unique)."""
    pos = np.searchsorted(sorted_keys, keys)
    found = pos < sorted_keys.size
    found[found] = sorted_keys[pos[found]] == keys[found]
    return found


def _bucket(n: np.ndarray) -> np.ndarray:
    return np.searchsorted(np.asarray(REPEAT_BUCKETS), n, side="right") - 1


def _top_per_row(m: sparse.csr_matrix, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(row, column, value, rank) of the k largest positive values of each row, rank 0 first; ties go to the
    smaller column. Vectorised: k passes of a per-row maximum (np.maximum.reduceat), no per-row Python."""
    m.sum_duplicates()
    m.sort_indices()
    lengths = np.diff(m.indptr)
    nonempty = lengths > 0
    starts = m.indptr[:-1][nonempty]
    row_of = np.repeat(np.arange(m.shape[0]), lengths)
    alive = np.where(m.data > 0, m.data, -np.inf).astype(np.float64)
    out_r, out_c, out_v, out_k = [], [], [], []
    row_max = np.full(m.shape[0], -np.inf)
    for rank in range(k):
        if starts.size == 0:
            break
        row_max[nonempty] = np.maximum.reduceat(alive, starts)
        pos = np.flatnonzero((alive == row_max[row_of]) & (alive > -np.inf))
        rows, first = np.unique(row_of[pos], return_index=True)
        sel = pos[first]
        out_r.append(rows)
        out_c.append(m.indices[sel])
        out_v.append(m.data[sel])
        out_k.append(np.full(rows.size, rank))
        alive[sel] = -np.inf
    if not out_r:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, np.empty(0), empty
    r, c, v, kk = (np.concatenate(x) for x in (out_r, out_c, out_v, out_k))
    order = np.lexsort((kk, r))
    return r[order], c[order].astype(np.int64), v[order], kk[order]


def _values_at(m: sparse.csr_matrix, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """m[rows[j], cols[j]] for every j (0 where the cell is empty)."""
    if rows.size == 0 or m.nnz == 0:
        return np.zeros(rows.size)
    return np.asarray(m[rows, cols]).ravel().astype(np.float64)


def fit_recommender(lines: pd.DataFrame, *, as_of_day: int, window_days: int = 180, history_days: int = 365,
                    neighbours: int = 20, min_common: int = 3, shrink: float = 5.0, smoothing: float = 2.0,
                    profile_cap: int = 64) -> Recommender:
    """Measure, on the data up to `as_of_day` (inclusive), how customers behave in a window of `window_days`:

    1. Rates from a time split at s = as_of_day − window_days, over the customers who bought both in the
       `history_days` before s and after it ("active"): for every product, the share of its earlier buyers who
       bought it again after s (repeat_rate, smoothed towards the overall rate by `smoothing` pseudo-buyers),
       how that share changes with the number of orders it was on (repeat_boost), and the share of the others
       who bought it for the first time after s (new_rate).
    2. Links from the `history_days` up to as_of_day: products bought by the same customers. With n_i buyers of
       i, n_u of u, n_iu of both among N customers (each customer's `profile_cap` most-bought products; pairs with
       fewer than `min_common` common buyers left out), the shrunk confidence c = (n_iu + shrink·p_u) / (n_i +
       shrink), p_u = n_u / N, and the lift c / p_u; kept when the lift is above 1, the `neighbours` links per
       product that add most to a score (new_rate · (lift − 1)).

    lines: order_id, customer_id, day (day number), product_id; rows after as_of_day are ignored.
    """
    day = lines["day"].to_numpy(dtype=np.int64)
    seen = day[day <= as_of_day]
    # With less than two windows of data the split moves to the middle of what there is.
    window = int(min(window_days, max(1, (as_of_day - int(seen.min(initial=as_of_day))) // 2)))
    split = as_of_day - window
    used = (day <= as_of_day) & (day > split - history_days)
    cust_all = lines["customer_id"].to_numpy(dtype=np.int64)[used]
    prod_all = lines["product_id"].to_numpy(dtype=np.int64)[used]
    order_all = lines["order_id"].to_numpy(dtype=np.int64)[used]
    day = day[used]
    u_all, items = pd.factorize(prod_all, sort=True)
    c_all, customers = pd.factorize(cust_all)
    n_items, n_cust = int(items.size), int(customers.size)
    first = _first_on_order(order_all, u_all, n_items)  # once for every window: an order has one day
    c_all, u_all, day = c_all[first], u_all[first], day[first]

    before = day <= split
    bc, bu, bn = _unique_pairs(c_all[before], u_all[before], None, n_items, n_cust)
    ac, au, _ = _unique_pairs(c_all[~before], u_all[~before], None, n_items, n_cust)
    active = (np.bincount(bc, minlength=n_cust) > 0) & (np.bincount(ac, minlength=n_cust) > 0)
    after_keys = ac * n_items + au  # ascending: the pairs are sorted by customer, then item
    on = active[bc]
    rebought = _member(after_keys, bc[on] * n_items + bu[on])
    pairs = np.bincount(bu[on], minlength=n_items).astype(float)
    rebuys = np.bincount(bu[on], weights=rebought, minlength=n_items)
    overall = float(rebought.mean()) if rebought.size else 0.0
    repeat_rate = (rebuys + smoothing * overall) / (pairs + smoothing)
    buckets = _bucket(bn[on])
    boost = np.ones(len(REPEAT_BUCKETS))
    for b in range(len(REPEAT_BUCKETS)):
        sel = buckets == b
        if sel.sum() >= 20 and 0 < overall < 1:
            rate = float(np.clip(rebought[sel].mean(), 1e-3, 1 - 1e-3))
            boost[b] = (rate / (1 - rate)) / (overall / (1 - overall))  # an odds ratio
    n_active = int(active.sum())
    new_after = active[ac] & ~_member(bc * n_items + bu, after_keys)
    # Among the active customers who had not bought it before (its earlier buyers cannot be new buyers).
    new_rate = np.bincount(au[new_after], minlength=n_items) / np.maximum(n_active - pairs, 1.0)

    # Links over the history up to as_of_day.
    recent = day > as_of_day - history_days
    hc, hu, hn = _unique_pairs(c_all[recent], u_all[recent], None, n_items, n_cust)
    n_customers = int((np.bincount(hc, minlength=n_cust) > 0).sum())
    buyers = np.bincount(hu, minlength=n_items)
    if hc.size and np.bincount(hc).max() > profile_cap:
        order = np.lexsort((-buyers[hu], -hn, hc))  # each customer's most-bought products first
        hc, hu = hc[order], hu[order]
        starts = np.searchsorted(hc, hc, side="left")
        keep = np.arange(hc.size) - starts < profile_cap
        hc, hu = hc[keep], hu[keep]
    keep = buyers[hu] >= min_common
    hc, hu = hc[keep], hu[keep]
    X = sparse.csr_matrix((np.ones(hc.size, dtype=np.float32), (hc, hu)), shape=(n_cust, n_items))
    n_i = np.asarray(X.sum(axis=0)).ravel()
    co = (X.T @ X).tocoo()
    ok = (co.row != co.col) & (co.data >= min_common)
    i, u, n_iu = co.row[ok], co.col[ok], co.data[ok].astype(np.float64)
    p_u = n_i[u] / max(n_customers, 1)
    conf = (n_iu + shrink * p_u) / (n_i[i] + shrink)
    excess = conf / p_u - 1.0
    gain = new_rate[u] * excess
    ok = (excess > 0) & (gain > 0)
    i, u, excess, conf, gain = i[ok], u[ok], excess[ok], conf[ok], gain[ok]
    order = np.lexsort((u, -gain, i))
    i, u, excess, conf = i[order], u[order], excess[order], conf[order]
    first = np.searchsorted(i, i, side="left")
    keep = np.arange(i.size) - first < neighbours
    shape = (n_items, n_items)
    links = sparse.csr_matrix((excess[keep], (i[keep], u[keep])), shape=shape)
    confidence = sparse.csr_matrix((conf[keep], (i[keep], u[keep])), shape=shape)
    params = {"window_days": window_days, "split_window_days": window, "history_days": history_days, "neighbours": neighbours,
              "min_common": min_common, "shrink": shrink, "smoothing": smoothing, "profile_cap": profile_cap,
              "active_customers": n_active, "overall_repeat_rate": overall,
              "repeat_boost": {str(b): round(float(x), 3) for b, x in zip(REPEAT_BUCKETS, boost, strict=True)},
              "products": int(n_items), "links": int(links.nnz)}
    return Recommender(as_of_day=as_of_day, window_days=window_days, history_days=history_days, items=items,
                       new_rate=new_rate, repeat_rate=repeat_rate, repeat_boost=boost, buyers=buyers,
                       links=links, confidence=confidence, parameters=params)


def recommend(model: Recommender, lines: pd.DataFrame, *, k: int = 5, customers: np.ndarray | None = None,
              min_repeat: float = 0.05, popular: int | None = None, chunk_size: int = 50_000) -> pd.DataFrame:
    """Top-k products per customer as of `model.as_of_day`, from what each bought in its `history_days`:

    - a product the customer bought (on n orders) scores repeat_rate · repeat_boost(n) (at most 1) — the chance
      of buying it again in the window; below `min_repeat` it is never recommended (a phone, a sofa);
    - any other product u scores 1 − (1 − new_rate_u)^(1 + Σ excess lift of the links to u from the customer's
      products): its plain chance to be bought by a new buyer, raised by every product of the customer's that
      goes with it. Customers with short histories get (nearly) the popular products; candidates are the
      linked products and the `popular` (default 3k + 10) products with the highest new_rate.

    Returns TOP_COLUMNS sorted by customer and rank (1 best). kind: "repeat", "together" (because_product_id:
    the customer's product with the strongest link, its lift and confidence) or "popular". `customers`
    restricts the output (default: everyone who bought in the history window). Works in chunks of
    `chunk_size` customers with sparse matrix products and a vectorised top-k.
    """
    day = lines["day"].to_numpy(dtype=np.int64)
    recent = (day <= model.as_of_day) & (day > model.as_of_day - model.history_days)
    cust = lines["customer_id"].to_numpy(dtype=np.int64)[recent]
    if customers is not None:
        wanted = np.isin(cust, np.asarray(customers, dtype=np.int64))
        recent_idx = np.flatnonzero(recent)[wanted]
        cust = cust[wanted]
    else:
        recent_idx = np.flatnonzero(recent)
    empty = pd.DataFrame({c: pd.Series(dtype=object) for c in TOP_COLUMNS})
    if cust.size == 0:
        return empty
    prod = lines["product_id"].to_numpy(dtype=np.int64)[recent_idx]
    order_ids = lines["order_id"].to_numpy(dtype=np.int64)[recent_idx]
    n_items = model.items.size
    u = np.searchsorted(model.items, prod)
    known = (u < n_items) & (model.items[np.minimum(u, n_items - 1)] == prod)
    c, ids = pd.factorize(cust[known], sort=True)
    pc, pu, pn = _unique_pairs(c, u[known], order_ids[known], n_items, int(ids.size))
    odds = model.repeat_rate[pu] / np.maximum(1 - model.repeat_rate[pu], 1e-9) * model.repeat_boost[_bucket(pn)]
    repeat_score = odds / (1 + odds)
    n_popular = popular if popular is not None else 3 * k + 10
    top_new = np.argsort(-model.new_rate, kind="stable")[:n_popular]
    top_new = top_new[model.new_rate[top_new] > 0]
    log_miss = np.log1p(-np.minimum(model.new_rate, 1 - 1e-12))
    # One sparse product gives both the summed excess lift (real part) and the number of linked products
    # (imaginary part) per customer and candidate.
    links_and_ones = model.links.astype(np.complex128)
    links_and_ones.data += 1j
    frames = []
    bounds = np.searchsorted(pc, np.arange(0, ids.size + chunk_size, chunk_size))
    for chunk, lo in enumerate(range(0, ids.size, chunk_size)):
        hi = min(ids.size, lo + chunk_size)
        a, b = bounds[chunk], bounds[chunk + 1]
        rows, cols, n = pc[a:b] - lo, pu[a:b], pn[a:b]
        m = hi - lo
        counts = sparse.csr_matrix((n.astype(np.float64), (rows, cols)), shape=(m, n_items))
        bought = counts.copy()
        bought.data[:] = 1.0
        own = sparse.csr_matrix((repeat_score[a:b], (rows, cols)), shape=(m, n_items))
        own.data[own.data < min_repeat] = 0.0
        own.eliminate_zeros()
        # The mean excess lift over the customer's products linked to u: one strong link counts as much as
        # several (a long grocery history would otherwise lift every well-connected product to certainty).
        both = bought @ links_and_ones
        linked = sparse.csr_matrix((both.data.real / np.maximum(both.data.imag, 1.0), both.indices, both.indptr),
                                   shape=both.shape)
        pop = sparse.csr_matrix((np.full(m * top_new.size, 1e-30), (np.repeat(np.arange(m), top_new.size),
                                                                     np.tile(top_new, m))), shape=(m, n_items))
        new = linked + pop
        new = new - new.multiply(bought)  # the customer's own products are scored as repeats only
        new.eliminate_zeros()
        new.data = -np.expm1((1.0 + new.data) * log_miss[new.indices])
        r, col, score, rank = _top_per_row(own + new, k)
        is_repeat = _values_at(own, r, col) > 0
        excess = _values_at(linked, r, col)
        kind = np.where(is_repeat, 0, np.where(excess > 0, 1, 2))
        because = np.full(r.size, -1, dtype=np.int64)
        lift = np.full(r.size, np.nan)
        conf = np.full(r.size, np.nan)
        together = np.flatnonzero(kind == 1)
        if together.size:
            # The customer's product with the strongest link to the recommended one.
            mine = bought[r[together]].tocoo()  # the pick's customer's products (short rows)
            strength = _values_at(model.links, mine.col, col[together][mine.row])
            contrib = sparse.csr_matrix((strength, (mine.row, mine.col)), shape=(together.size, n_items))
            tr, ti, tv, _ = _top_per_row(contrib, 1)
            because[together[tr]] = ti
            lift[together[tr]] = 1.0 + tv
            conf[together[tr]] = _values_at(model.confidence, ti, col[together[tr]])
        times_bought = np.where(is_repeat, _values_at(counts, r, col), 0)
        frames.append(pd.DataFrame({
            "customer_id": ids[lo + r], "rank": rank + 1, "product_id": model.items[col], "score": score,
            "kind": np.asarray(KINDS, dtype=object)[kind],
            "because_product_id": np.where(because >= 0, model.items[np.maximum(because, 0)], -1),
            "times_bought": times_bought.astype(np.int64),
            "repeat_rate": np.where(is_repeat, model.repeat_rate[col], np.nan), "lift": lift, "confidence": conf,
            "new_rate": model.new_rate[col]}))
    out = pd.concat(frames, ignore_index=True) if frames else empty
    return out[TOP_COLUMNS]


def popular_lists(model: Recommender, lines: pd.DataFrame, *, k: int = 5, customers: np.ndarray | None = None,
                  min_repeat: float = 0.05) -> pd.DataFrame:
    """The baseline served when the recommender did not beat it: the products most customers bought in the year
    up to model.as_of_day, for every customer who bought in the history window, less the products the customer
    bought that are not bought again (repeat chance below `min_repeat`, as in `recommend`). TOP_COLUMNS, kind
    "popular"."""
    day = lines["day"].to_numpy(dtype=np.int64)
    recent = (day <= model.as_of_day) & (day > model.as_of_day - model.history_days)
    cust = lines["customer_id"].to_numpy(dtype=np.int64)[recent]
    prod = lines["product_id"].to_numpy(dtype=np.int64)[recent]
    order_ids = lines["order_id"].to_numpy(dtype=np.int64)[recent]
    if customers is not None:
        wanted = np.isin(cust, np.asarray(customers, dtype=np.int64))
        cust, prod, order_ids = cust[wanted], prod[wanted], order_ids[wanted]
    c, ids = pd.factorize(cust, sort=True)
    n_items = model.items.size
    pc, pu, pn = _unique_pairs(c, np.searchsorted(model.items, prod), order_ids, n_items, int(ids.size))
    odds = model.repeat_rate[pu] / np.maximum(1 - model.repeat_rate[pu], 1e-9) * model.repeat_boost[_bucket(pn)]
    one_off = sparse.csr_matrix(((odds / (1 + odds) < min_repeat).astype(np.float64), (pc, pu)),
                                shape=(ids.size, n_items))
    popular = most_popular(lines, as_of_day=model.as_of_day, k=3 * k + 10)
    cols = np.searchsorted(model.items, popular)
    # customers × popular products: may it be served (not a one-off purchase of theirs), the first k that may.
    allowed = one_off[:, cols].toarray() == 0
    take = allowed & (np.cumsum(allowed, axis=1) <= k)
    row, j = np.nonzero(take)
    col = cols[j]
    return pd.DataFrame({
        "customer_id": ids[row], "rank": np.cumsum(take, axis=1)[row, j], "product_id": model.items[col],
        "score": model.buyers[col] / max(int(ids.size), 1), "kind": "popular", "because_product_id": -1,
        "times_bought": 0, "repeat_rate": np.nan, "lift": np.nan, "confidence": np.nan,
        "new_rate": model.new_rate[col]})[TOP_COLUMNS]


def most_popular(lines: pd.DataFrame, *, as_of_day: int, k: int, days: int = 365) -> np.ndarray:
    """The k products most customers bought in the `days` up to as_of_day (the baseline every recommender is
    measured against), most popular first; ties by the smaller product id."""
    day = lines["day"].to_numpy(dtype=np.int64)
    sel = (day <= as_of_day) & (day > as_of_day - days)
    pairs = lines.loc[sel, ["customer_id", "product_id"]].drop_duplicates()
    counts = pairs["product_id"].value_counts()
    frame = pd.DataFrame({"product_id": counts.index.to_numpy(), "n": counts.to_numpy()})
    return frame.sort_values(["n", "product_id"], ascending=[False, True]).head(k)["product_id"].to_numpy()


def holdout_metrics(recs: pd.DataFrame, lines: pd.DataFrame, *, cut_day: int, k: int,
                    customers: np.ndarray) -> dict:
    """The evaluation protocol: lists made as of `cut_day` (inclusive) against what `customers` bought after it
    (every later line in `lines`). A customer is a hit when they bought at least one recommended product —
    whether or not they had bought it before — so the baseline, the k products most customers bought in the
    year before the cut-off for everyone, is measured the same way. JSON-ready."""
    customers = np.unique(np.asarray(customers, dtype=np.int64))
    day = lines["day"].to_numpy(dtype=np.int64)
    after = lines.loc[(day > cut_day) & lines["customer_id"].isin(customers).to_numpy(),
                      ["customer_id", "product_id"]].drop_duplicates()
    n = int(customers.size)
    sel = recs.loc[recs["customer_id"].isin(customers), ["customer_id", "product_id"]]
    hits = sel.merge(after, on=["customer_id", "product_id"], how="inner")
    popular = most_popular(lines, as_of_day=cut_day, k=k)
    base = after[after["product_id"].isin(popular)]
    hit_customers = int(hits["customer_id"].nunique())
    base_customers = int(base["customer_id"].nunique())
    return {
        "customers": n, "k": k,
        "hit_rate": hit_customers / n if n else None,
        "precision_at_k": len(hits) / (n * k) if n else None,
        "baseline_hit_rate": base_customers / n if n else None,
        "baseline_precision_at_k": len(base) / (n * k) if n else None,
        "baseline": f"the {k} products most customers bought in the year before the cut-off",
        "holdout": {"bins": [
            {"label": "recommended", "actual": hit_customers / n if n else None, "customers": n},
            {"label": "popular", "actual": base_customers / n if n else None, "customers": n}]},
    }
