"""Models on own labels: train (read, encode, 5-fold CV with baselines, final fit, save) and apply, beside the
bare LightGBM fits they contain.

    flock /tmp/clientwise-bench.lock .venv/bin/python bench/bench_labels.py --rows 7043 100000

Database: bench/out/labels.sqlite3 (migrated on first use; 7,043 customers with external ids T00000… are
created so the scores have customers to land on), or $DATABASE_URL. The tables are Telco-shaped with a known
signal (clientwise/analytics/tests/test_labels.py: telco).

Baseline, in the same process on the same data: lgb.train on the already encoded matrix with the same number
of trees as each fold and the final model (the fitting the pipeline cannot avoid); ratio = train end to end /
baseline. Apply is timed twice: the training table's rows (out-of-fold scores) and a new 7,043-row CSV.
"""

from __future__ import annotations

import argparse
import time

from _setup import OUT, configure

CUSTOMERS = 7043


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[7043, 100_000])
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    configure(OUT / "labels.sqlite3")

    import lightgbm as lgb
    from django.core.management import call_command

    from clientwise.analytics import labels as L
    from clientwise.analytics.label_services import apply_label_model, train_label_model
    from clientwise.analytics.models import LabelModel
    from clientwise.analytics.tests.test_labels import telco
    from clientwise.customers.models import Customer

    call_command("migrate", verbosity=0)
    have = set(Customer.objects.filter(source="billing").values_list("external_id", flat=True))
    Customer.objects.bulk_create([Customer(name=f"Telco {i}", external_id=f"T{i:05d}", source="billing")
                                  for i in range(CUSTOMERS) if f"T{i:05d}" not in have], batch_size=5000)
    new_path = OUT / "labels_new.csv"
    telco(CUSTOMERS, seed=args.seed + 1).drop(columns=["Churn"]).to_csv(new_path, index=False)

    for n in args.rows:
        path = OUT / f"labels_{n}.csv"
        telco(n, seed=args.seed).to_csv(path, index=False)
        LabelModel.objects.filter(name=f"bench{n}").delete()
        t = time.perf_counter()
        model = train_label_model(actor=None, path=path, file_name=path.name, name=f"bench{n}",
                                  id_column="customerID", label_column="Churn")
        train = time.perf_counter() - t
        t = time.perf_counter()
        oof = apply_label_model(actor=None, model=model)
        apply_oof = time.perf_counter() - t
        t = time.perf_counter()
        fresh = apply_label_model(actor=None, model=model, path=new_path, file_name=new_path.name)
        apply_new = time.perf_counter() - t

        frame = L.read_table(path)
        labels = L.parse_labels(frame["Churn"])
        features = [L.Feature.from_dict(f) for f in model.features["features"]]
        X = L.encode(frame, features).to_numpy(dtype=float)
        cats = L.categorical_names(features)
        names = [f.name for f in features]
        t = time.perf_counter()
        for rounds in [*model.parameters["fold_trees"], model.parameters["trees"]]:
            data = lgb.Dataset(X, label=labels.y, feature_name=names, categorical_feature=cats)
            lgb.train(L.lgb_params(n, 0), data, num_boost_round=rounds)
        base = time.perf_counter() - t

        m = model.metrics
        print(f"{n:>9,} rows  train {train:6.1f} s (bare LightGBM fits {base:5.1f} s, ratio {train / base:4.1f})  "
              f"apply out of fold {apply_oof:4.2f} s ({oof.scored:,} stored), new CSV {apply_new:4.2f} s "
              f"({fresh.scored:,} stored)")
        print(f"{'':>15}AUC {m['model']['auc']:.3f} vs {m['single_feature']['feature']} "
              f"{m['single_feature']['auc']:.3f}; top-decile lift {m['model']['lift_top_decile']:.2f} vs "
              f"{m['single_feature']['lift_top_decile']:.2f}; Brier {m['model']['brier']:.4f} vs prior "
              f"{m['prior']['brier']:.4f}; beats baseline: {m['beats_baseline']}")


if __name__ == "__main__":
    main()
