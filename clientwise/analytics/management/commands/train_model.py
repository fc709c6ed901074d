"""`clientwise train_model`: train a classifier on a table of your own labels and print its cross-validation."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from clientwise.analytics.label_services import train_label_model
from clientwise.analytics.labels import verdict
from clientwise.core.errors import DomainError


class Command(BaseCommand):
    help = ("Train a classifier (LightGBM) on a table with a label column — CSV, XLSX, JSONL or Parquet — and "
            "cross-validate it beside naive baselines. Text columns are encoded automatically. See "
            "docs/analytics-own-labels.md.")

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="the labelled table")
        parser.add_argument("--name", required=True, help="the model's name: the score kind its scores go under")
        parser.add_argument("--id-column", required=True, help="the column that identifies a customer")
        parser.add_argument("--label-column", required=True, help="the column with the outcome (Yes/No, 1/0, ...)")
        parser.add_argument("--positive", default=None,
                            help="the label value to predict, when it is not a known word like Yes, 1 or 流失")
        parser.add_argument("--id-kind", default="auto", choices=["auto", "external_id", "member_number",
                                                                  "customer_id"],
                            help="what the id column holds (default: whichever matches most customers)")
        parser.add_argument("--folds", type=int, default=5, help="cross-validation folds (default 5)")
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, *args, file, name, id_column, label_column, positive, id_kind, folds, seed, **options):
        if not file.is_file():
            raise CommandError(f"No such file: {file}")
        if not 2 <= folds <= 20:
            raise CommandError("--folds must be between 2 and 20.")
        try:
            model = train_label_model(actor=None, path=file, file_name=file.name, name=name, id_column=id_column,
                                      label_column=label_column, positive=positive, id_kind=id_kind, folds=folds,
                                      seed=seed)
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from None
        m = model.metrics
        self.stdout.write(f"Model {model.name} (id {model.pk}): {model.rows:,} labelled rows, "
                          f"{model.positives:,} “{model.positive_label}” ({m['base_rate']:.1%}); "
                          f"{model.matched:,} matched customers by {model.id_kind}; {model.seconds:.1f} s.")
        feats = model.features.get("features", [])
        self.stdout.write("Features: " + ", ".join(f"{f['name']} ({f['kind']})" for f in feats))
        dropped = model.features.get("dropped", [])
        if dropped:
            self.stdout.write("Left out: " + ", ".join(f"{d['name']} ({d['reason']})" for d in dropped))
        self.stdout.write(f"{m['folds']}-fold cross-validation      AUC    lift top 10%   Brier")
        rows = [("model (LightGBM)", m["model"]),
                (f"best single feature: {m['single_feature']['feature']}", m["single_feature"]),
                ("prior rate", m["prior"])]
        for label, r in rows:
            self.stdout.write(f"  {label[:30]:<30} {r['auc']:.3f}  {r['lift_top_decile']:12.2f}   {r['brier']:.4f}")
        if m.get("possible_leaks"):
            self.stdout.write("Warning: these columns alone predict the label almost perfectly; they may restate "
                              "it: " + ", ".join(m["possible_leaks"]))
        self.stdout.write(verdict(m))
