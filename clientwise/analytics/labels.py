"""Classifiers trained on a company's own labels: read a table, encode it, cross-validate, fit, apply.

Pure functions over pandas/NumPy (no ORM): `label_services.py` stores the results. The flow, and the rules each
step follows (docs/analytics-own-labels.md):

- `read_table(path)` reads CSV (UTF-8 or GBK/GB18030, detected as imports do), XLSX, JSONL or Parquet into a frame.
- `parse_labels(values)` turns a label column (Yes/No, 1/0, true/false, 流失/未流失, ...) into 0/1; blank labels are
  left out of training. Exactly two values are allowed; which one is the positive class comes from a list of
  known words or from the caller.
- `infer_features(frame)` decides per column: a number (text that parses as numbers, blanks such as
  TotalCharges " " become missing), a category (the most frequent values, the rest as one "other" bucket), or
  left out (the id and label columns, constants, identifier-like text where nearly every row differs).
  `encode(frame, features)` applies that decision to any later table the same way.
- `cross_validate(...)` runs stratified k-fold: LightGBM with early stopping on a split of each training fold,
  against two naive baselines fitted on the same folds — the prior rate, and the single best feature (the label
  rate per category or per tenth of a number). It reports AUC, lift in the top decile and a calibration table for
  each, and whether the model beats the single-feature baseline.
- `fit_final(...)` fits on every labelled row with the median number of trees the folds chose; `predict(...)`
  scores rows of any table with the same columns.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from django.utils.translation import gettext as _
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, train_test_split

from clientwise.analytics.churn import calibration_table, default_params, gains_table
from clientwise.analytics.errors import AnalyticsErrorCode
from clientwise.core.errors import DomainError
from clientwise.dataio import readers

MIN_ROWS = 50  # labelled rows needed to cross-validate at all
MIN_PER_CLASS = 10  # rows of the rarer class: each of 5 folds must hold at least two
FOLDS = 5
MAX_CATEGORIES = 50  # the most frequent values of a text column kept as categories; the rest is one bucket
NUMERIC_SHARE = 0.95  # a text column is a number when this share of its non-blank cells parse as numbers
IDENTIFIER_SHARE = 0.5  # text with more distinct values than this share of rows is an identifier or free text
OTHER = "(other)"
LEAK_AUC = 0.99  # a single feature this good on its own usually restates the label
BEATS_MARGIN = 0.005  # AUC points the model must gain over the single-feature baseline

# Label words, compared lower-cased and stripped. A value in neither list needs the caller to name the positive one.
POSITIVE_WORDS = frozenset({
    "1", "yes", "y", "true", "t", "churn", "churned", "left", "lost", "positive", "流失", "已流失", "是", "真", "有",
})
NEGATIVE_WORDS = frozenset({
    "0", "no", "n", "false", "f", "stay", "stayed", "retained", "active", "negative", "未流失", "留存", "否", "假",
    "无",
})


def error(code: str, message: str, field: str | None = None) -> DomainError:
    return DomainError(code, message, field)


# ---------------------------------------------------------------------------------------------------------------
# Reading


def read_table(path: str | Path, name: str | None = None) -> pd.DataFrame:
    """The whole table as a frame: Parquet keeps its column types; CSV, XLSX and JSONL come in as text (the
    import readers decode them: encodings detected, XLSX numbers without a trailing ".0")."""
    path = Path(path)
    suffix = Path(name or path.name).suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            frame = pq.read_table(path).to_pandas()
        else:
            fmt = readers.detect_format(name or path.name)
            encoding = readers.detect_encoding(path) if fmt != "xlsx" else ""
            headers, rows = readers.open_rows(path, fmt, encoding)
            records = [row for _n, row in rows]
            frame = pd.DataFrame.from_records(records, columns=headers) if records else pd.DataFrame(columns=headers)
    except DomainError:
        raise
    except Exception as exc:  # a damaged Parquet, XLSX or CSV file: the reader's own words, as a code
        raise error(AnalyticsErrorCode.UNREADABLE_FILE,
                    _("The file could not be read: %(reason)s") % {"reason": str(exc)[:200]}, "file") from None
    frame.columns = [str(c) for c in frame.columns]
    if frame.empty:
        raise error(AnalyticsErrorCode.TOO_FEW_ROWS, _("The table has no rows."), "file")
    return frame


def normalize_id(value: Any) -> str:
    """An id cell as text: numbers without a trailing ".0", blanks as ""."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    return text[:-2] if re.fullmatch(r"\d+\.0", text) else text


def require_columns(frame: pd.DataFrame, *columns: tuple[str, str]) -> None:
    """Each (column, field) must be a column of the table; the error names the field the user chose it in."""
    for column, fld in columns:
        if not column or column not in frame.columns:
            raise error(AnalyticsErrorCode.MISSING_COLUMN,
                        _("The table has no column “%(column)s”; its columns are: %(columns)s.")
                        % {"column": column, "columns": ", ".join(frame.columns[:40])}, fld)


# ---------------------------------------------------------------------------------------------------------------
# Labels


@dataclass(frozen=True)
class Labels:
    """0/1 per row (-1 where the label is blank), and the two label values as written in the table."""

    y: np.ndarray
    positive: str
    negative: str

    @property
    def labelled(self) -> np.ndarray:
        return self.y >= 0


def _label_text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def parse_labels(values: Sequence[Any] | pd.Series, positive: str | None = None) -> Labels:
    """0/1 labels from a column with two distinct values. `positive` (as written, case-insensitive) names the
    positive class; without it the known words decide (Yes, 1, true, churned, 流失, ... are positive)."""
    texts = [_label_text(v) for v in values]
    distinct: dict[str, str] = {}
    for t in texts:
        if t:
            distinct.setdefault(t.lower(), t)
    if len(distinct) > 2:
        shown = ", ".join(sorted(distinct.values())[:8])
        raise error(AnalyticsErrorCode.LABEL_NOT_BINARY,
                    _("The label column must hold two values (e.g. Yes/No); it holds %(n)d: %(values)s.")
                    % {"n": len(distinct), "values": shown}, "label_column")
    if len(distinct) < 2:
        raise error(AnalyticsErrorCode.ONE_CLASS,
                    _("Every labelled row has the same label; a classifier needs examples of both outcomes."),
                    "label_column")
    keys = list(distinct)
    if positive:
        pos = positive.strip().lower()
        if pos not in distinct:
            raise error(AnalyticsErrorCode.INVALID_POSITIVE,
                        _("“%(value)s” is not a value of the label column; its values are %(values)s.")
                        % {"value": positive, "values": " / ".join(distinct.values())}, "positive")
    else:
        known = [k for k in keys if k in POSITIVE_WORDS]
        negs = [k for k in keys if k in NEGATIVE_WORDS]
        if len(known) == 1 and known[0] not in negs and [k for k in keys if k != known[0]][0] not in POSITIVE_WORDS:
            pos = known[0]
        elif len(negs) == 1 and len(known) == 0:
            pos = next(k for k in keys if k != negs[0])
        else:
            raise error(AnalyticsErrorCode.INVALID_POSITIVE,
                        _("Say which label value is the outcome to predict: %(values)s.")
                        % {"values": " / ".join(distinct.values())}, "positive")
    neg = next(k for k in keys if k != pos)
    y = np.array([-1 if not t else int(t.lower() == pos) for t in texts], dtype=np.int8)
    return Labels(y=y, positive=distinct[pos], negative=distinct[neg])


# ---------------------------------------------------------------------------------------------------------------
# Features


@dataclass(frozen=True)
class Feature:
    """How one column becomes a model input: `kind` number or category; `categories` the kept values in code
    order (a value not among them, at training or later, is the OTHER bucket, the last code)."""

    name: str
    kind: str
    categories: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "categories": list(self.categories)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Feature:
        return cls(d["name"], d["kind"], tuple(d.get("categories") or ()))


@dataclass(frozen=True)
class Dropped:
    """A column left out, and why (a reason code the page translates)."""

    name: str
    reason: str  # id, label, constant, identifier, empty


def _blank(s: pd.Series) -> pd.Series:
    """Text cells with blanks (" ", "", None, NaN) as NaN."""
    text = s.astype("string").str.strip()
    return text.mask(text == "")


def _as_number(s: pd.Series) -> pd.Series | None:
    """The column as floats when it is numeric or its text parses as numbers (blanks missing); else None."""
    if pd.api.types.is_bool_dtype(s):
        return s.astype(float)
    if pd.api.types.is_numeric_dtype(s):
        return pd.to_numeric(s, errors="coerce").astype(float)
    text = _blank(s)
    present = int(text.notna().sum())
    if present == 0:
        return None
    nums = pd.to_numeric(text.str.replace(",", "", regex=False), errors="coerce")
    if nums.notna().sum() >= NUMERIC_SHARE * present:
        return nums.astype(float)
    return None


def infer_features(frame: pd.DataFrame, *, id_column: str, label_column: str) -> tuple[list[Feature], list[Dropped]]:
    """Decide every column's part in the model (see the module docstring)."""
    features: list[Feature] = []
    dropped: list[Dropped] = []
    n = len(frame)
    for name in frame.columns:
        if name == id_column:
            dropped.append(Dropped(name, "id"))
            continue
        if name == label_column:
            dropped.append(Dropped(name, "label"))
            continue
        s = frame[name]
        nums = _as_number(s)
        if nums is not None:
            if nums.nunique(dropna=False) <= 1:
                dropped.append(Dropped(name, "constant"))
            else:
                features.append(Feature(name, "number"))
            continue
        text = _blank(s)
        counts = text.value_counts(dropna=True)
        if counts.empty:
            dropped.append(Dropped(name, "empty"))
        elif len(counts) > max(MAX_CATEGORIES, IDENTIFIER_SHARE * n):
            dropped.append(Dropped(name, "identifier"))
        elif len(counts) == 1 and text.notna().all():
            dropped.append(Dropped(name, "constant"))
        else:
            # Most frequent first; ties by value so the same table always gives the same codes.
            kept = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_CATEGORIES]
            features.append(Feature(name, "category", tuple(str(k) for k, _c in kept)))
    return features, dropped


def encode(frame: pd.DataFrame, features: Sequence[Feature]) -> pd.DataFrame:
    """The model's input columns: numbers as floats (unparseable or blank → NaN), categories as float codes
    (blank → NaN, a value not kept at training → the OTHER code). Raises missing_column for an absent column."""
    require_columns(frame, *((f.name, "file") for f in features))
    out = {}
    for f in features:
        s = frame[f.name]
        if f.kind == "number":
            nums = _as_number(s)
            if nums is None:  # this table's column is mostly text: read what parses, the rest is missing
                nums = pd.to_numeric(_blank(s), errors="coerce").astype(float)
            out[f.name] = nums.to_numpy(dtype=float, na_value=np.nan)
        else:
            text = _blank(s)
            index = {v: float(i) for i, v in enumerate(f.categories)}
            other = float(len(f.categories))
            out[f.name] = np.array([np.nan if v is pd.NA else index.get(v, other) for v in text.tolist()],
                                   dtype=float)
    return pd.DataFrame(out, index=frame.index)


def categorical_names(features: Sequence[Feature]) -> list[str]:
    return [f.name for f in features if f.kind == "category"]


# ---------------------------------------------------------------------------------------------------------------
# Model and baselines


def check_rows(y: np.ndarray) -> None:
    """Enough labelled rows, and enough of each class, to cross-validate."""
    n, pos = len(y), int(y.sum())
    if n < MIN_ROWS:
        raise error(AnalyticsErrorCode.TOO_FEW_ROWS,
                    _("Only %(n)d labelled rows: at least %(min)d are needed to train and check a model.")
                    % {"n": n, "min": MIN_ROWS}, "file")
    if min(pos, n - pos) < MIN_PER_CLASS:
        raise error(AnalyticsErrorCode.TOO_FEW_ROWS,
                    _("Only %(k)d rows of the rarer label: at least %(min)d of each are needed.")
                    % {"k": min(pos, n - pos), "min": MIN_PER_CLASS}, "file")


def lgb_params(n_rows: int, seed: int) -> dict[str, Any]:
    p = default_params(n_rows, seed)
    # One thread at every size: on a shared 2-core machine 125 trees on 100k rows took 1.9 s with one thread and
    # 28.7 s with two (OpenMP threads spinning against other processes); a table of labels is rarely so large
    # that a second core would pay.
    p["num_threads"] = 1
    # Small tables: smaller leaves than the churn model's floor of 20, so a few thousand rows can still split.
    p["min_data_in_leaf"] = max(10, min(p["min_data_in_leaf"], n_rows // 100))
    p["cat_smooth"] = 10
    p["min_data_per_group"] = 20
    return p


def _fit_booster(X: pd.DataFrame, y: np.ndarray, cats: list[str], *, seed: int, rounds: int | None = None,
                 max_rounds: int = 1000, early_stopping: int = 50) -> lgb.Booster:
    """LightGBM on X; with `rounds` None, a stratified fifth of the rows picks the number of trees (early
    stopping) and the booster is trained on the other four fifths."""
    p = lgb_params(len(y), seed)
    cols = list(X.columns)
    if rounds is not None:
        data = lgb.Dataset(X.to_numpy(dtype=float), label=y, feature_name=cols, categorical_feature=cats)
        return lgb.train(p, data, num_boost_round=max(1, rounds))
    fit_idx, stop_idx = train_test_split(np.arange(len(y)), test_size=0.2, random_state=seed, stratify=y)
    m = X.to_numpy(dtype=float)
    dfit = lgb.Dataset(m[fit_idx], label=y[fit_idx], feature_name=cols, categorical_feature=cats)
    dstop = lgb.Dataset(m[stop_idx], label=y[stop_idx], reference=dfit)
    return lgb.train(p, dfit, num_boost_round=max_rounds, valid_sets=[dstop], valid_names=["stop"],
                     callbacks=[lgb.early_stopping(early_stopping, verbose=False)])


def _bins(col: np.ndarray, kind: str, edges: np.ndarray | None) -> np.ndarray:
    """Bin ids of one feature for the single-feature baseline: category codes as they are, numbers by the
    training fold's tenths; missing is a bin of its own (-1)."""
    if kind == "category":
        return np.where(np.isnan(col), -1, col).astype(np.int64)
    out = np.searchsorted(edges, col, side="right").astype(np.int64)
    return np.where(np.isnan(col), -1, out)


@dataclass
class SingleFeatureModel:
    """The naive baseline: the label rate per bin of one feature (smoothed towards the prior rate)."""

    feature: str
    kind: str
    edges: np.ndarray | None
    rates: dict[int, float]
    prior: float

    def predict(self, col: np.ndarray) -> np.ndarray:
        b = _bins(col, self.kind, self.edges)
        return np.array([self.rates.get(int(k), self.prior) for k in b], dtype=float)


def fit_single_feature(X: pd.DataFrame, y: np.ndarray, features: Sequence[Feature],
                       smoothing: float = 10.0) -> tuple[SingleFeatureModel, dict[str, float]]:
    """The best one-feature model on these rows (by AUC on the same rows), and every feature's AUC there."""
    prior = float(y.mean())
    best: SingleFeatureModel | None = None
    best_auc = -1.0
    aucs: dict[str, float] = {}
    for f in features:
        col = X[f.name].to_numpy(dtype=float)
        edges = None
        if f.kind == "number":
            present = col[~np.isnan(col)]
            edges = np.unique(np.quantile(present, np.linspace(0.1, 0.9, 9))) if len(present) else np.array([])
        b = _bins(col, f.kind, edges)
        keys, inverse = np.unique(b, return_inverse=True)
        n = np.bincount(inverse)
        pos = np.bincount(inverse, weights=y)
        rate = (pos + smoothing * prior) / (n + smoothing)
        model = SingleFeatureModel(f.name, f.kind, edges, {int(k): float(r) for k, r in zip(keys, rate, strict=True)},
                                   prior)
        score = rate[inverse]
        auc = float(roc_auc_score(y, score)) if len(keys) > 1 else 0.5
        aucs[f.name] = auc
        if auc > best_auc:
            best, best_auc = model, auc
    assert best is not None
    return best, aucs


def _metrics(score: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    gains = gains_table(score, y)
    brier = float(np.mean((score - y) ** 2))
    return {"auc": float(roc_auc_score(y, score)), "lift_top_decile": gains[0]["lift"], "gains": gains,
            "calibration": calibration_table(score, y), "brier": brier}


@dataclass
class CrossValidation:
    """Out-of-fold results: every labelled row scored by a model that never saw it."""

    oof: np.ndarray
    metrics: dict[str, Any]
    trees: list[int] = field(default_factory=list)


def cross_validate(X: pd.DataFrame, y: np.ndarray, features: Sequence[Feature], *, folds: int = FOLDS,
                   seed: int = 0) -> CrossValidation:
    """Stratified k-fold of the model and the two baselines (see the module docstring). Metrics are computed on
    the pooled out-of-fold scores; per-fold AUCs show how stable they are."""
    y = np.asarray(y, dtype=np.int8)
    check_rows(y)
    cats = categorical_names(features)
    oof = np.empty(len(y))
    oof_single = np.empty(len(y))
    oof_prior = np.empty(len(y))
    fold_rows, trees, chosen = [], [], []
    skf = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for k, (train, test) in enumerate(skf.split(np.zeros(len(y)), y)):
        Xtr, ytr, Xte = X.iloc[train], y[train], X.iloc[test]
        booster = _fit_booster(Xtr, ytr, cats, seed=seed + k)
        best = booster.best_iteration or booster.current_iteration()
        trees.append(int(best))
        oof[test] = booster.predict(Xte.to_numpy(dtype=float), num_iteration=best)
        single, _aucs = fit_single_feature(Xtr, ytr, features)
        chosen.append(single.feature)
        oof_single[test] = single.predict(Xte[single.feature].to_numpy(dtype=float))
        oof_prior[test] = float(ytr.mean())
        both = 0 < y[test].sum() < len(test)
        fold_rows.append({
            "fold": k + 1, "rows": int(len(test)), "positives": int(y[test].sum()), "trees": int(best),
            "auc": float(roc_auc_score(y[test], oof[test])) if both else None,
            "baseline_auc": float(roc_auc_score(y[test], oof_single[test])) if both else None,
            "baseline_feature": single.feature,
        })
    model = _metrics(oof, y)
    single_m = _metrics(oof_single, y)
    prior_m = {"auc": 0.5, "lift_top_decile": 1.0, "calibration": calibration_table(oof_prior, y),
               "brier": float(np.mean((oof_prior - y) ** 2))}
    _best, all_aucs = fit_single_feature(X, y, features)
    wins = sum(1 for r in fold_rows if r["auc"] is not None and r["baseline_auc"] is not None
               and r["auc"] > r["baseline_auc"])
    beats = model["auc"] >= single_m["auc"] + BEATS_MARGIN and wins >= folds - 1
    leaks = sorted(name for name, auc in all_aucs.items() if auc >= LEAK_AUC)
    metrics = {
        "folds": folds, "rows": int(len(y)), "positives": int(y.sum()), "base_rate": float(y.mean()),
        "model": model, "single_feature": {**single_m, "feature": max(set(chosen), key=chosen.count)},
        "prior": prior_m, "per_fold": fold_rows, "beats_baseline": bool(beats), "folds_won": wins,
        "feature_auc": dict(sorted(all_aucs.items(), key=lambda kv: -kv[1])), "possible_leaks": leaks,
    }
    return CrossValidation(oof=oof, metrics=metrics, trees=trees)


def verdict(metrics: dict[str, Any]) -> str:
    """One plain sentence: does the model beat the naive baselines?"""
    m, s = metrics["model"], metrics["single_feature"]
    if metrics["beats_baseline"]:
        return _("The model beats the best single feature (%(feature)s): AUC %(auc).3f vs %(base).3f, lift in the "
                 "top tenth %(lift).2f vs %(blift).2f.") % {
            "feature": s["feature"], "auc": m["auc"], "base": s["auc"], "lift": m["lift_top_decile"],
            "blift": s["lift_top_decile"]}
    if m["auc"] <= 0.5 + BEATS_MARGIN:
        return _("The model does not beat the prior rate (AUC %(auc).3f): these columns do not predict the label.") \
            % {"auc": m["auc"]}
    return _("The model does not beat the best single feature (%(feature)s): AUC %(auc).3f vs %(base).3f. Use that "
             "feature's rates, or add columns that carry more signal.") % {
        "feature": s["feature"], "auc": m["auc"], "base": s["auc"]}


def fit_final(X: pd.DataFrame, y: np.ndarray, features: Sequence[Feature], trees: Sequence[int], *,
              seed: int = 0) -> lgb.Booster:
    """The model to apply: every labelled row, with the median number of trees the folds' early stopping chose."""
    rounds = int(np.median(trees)) if len(trees) else 100
    return _fit_booster(X, np.asarray(y, dtype=np.int8), categorical_names(features), seed=seed, rounds=rounds)


def importance(booster: lgb.Booster) -> list[dict[str, Any]]:
    gain = booster.feature_importance("gain")
    total = float(gain.sum()) or 1.0
    return sorted(({"feature": f, "gain_share": float(g) / total}
                   for f, g in zip(booster.feature_name(), gain, strict=True)), key=lambda r: -r["gain_share"])


def predict(booster: lgb.Booster, frame: pd.DataFrame, features: Sequence[Feature]) -> np.ndarray:
    """Probability of the positive label for every row of `frame` (a table with the training columns)."""
    X = encode(frame, features)
    return booster.predict(X.to_numpy(dtype=float))


def features_json(features: Sequence[Feature], dropped: Sequence[Dropped]) -> dict[str, Any]:
    return {"features": [f.as_dict() for f in features], "dropped": [asdict(d) for d in dropped]}
