"""`clientwise apply_model`: score customers with a model trained on your own labels."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from clientwise.analytics.label_queries import get_label_model_by_name
from clientwise.analytics.label_services import apply_label_model
from clientwise.core.errors import DomainError


class Command(BaseCommand):
    help = ("Apply a model trained with `clientwise train_model` to a table with the same columns (or, without "
            "a file, to the training table's rows, scored out of fold) and store the matched customers' scores.")

    def add_arguments(self, parser):
        parser.add_argument("name", help="the model's name")
        parser.add_argument("file", type=Path, nargs="?", default=None, help="the table to score")
        parser.add_argument("--out", type=Path, default=None,
                            help="also write every row's id and probability to this CSV (matched or not)")

    def handle(self, *args, name, file, out, **options):
        if file is not None and not file.is_file():
            raise CommandError(f"No such file: {file}")
        try:
            model = get_label_model_by_name(name)
            result = apply_label_model(actor=None, model=model, path=file, file_name=file.name if file else "")
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from None
        if out is not None:
            result.scores.to_csv(out, index=False)
        self.stdout.write(f"Scored {result.rows:,} rows with {model.name}: {result.scored:,} customers' scores "
                          f"stored, {result.unmatched:,} rows matched no customer"
                          f"{f'; all rows written to {out}' if out else ''}.")
