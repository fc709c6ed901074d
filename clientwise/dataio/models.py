"""Models of dataio: import jobs, their quarantined rows, and saved column mappings."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from clientwise.dataio.registry import kind_choices


class ImportJob(models.Model):
    """One file (or one entry-grid save) going into the database.

    Rows are validated and committed in batches; `last_row` is the number of the last input row whose batch
    committed, so `resume` continues after it. The counters always add up to the rows processed so far:
    created + updated + unchanged + rejected + skipped.
    """

    class Status(models.TextChoices):
        UPLOADED = "uploaded", _("Uploaded")
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        XLSX = "xlsx", "XLSX"
        JSONL = "jsonl", "JSONL"
        GRID = "grid", _("Entry grid")

    kind = models.CharField(_("kind"), max_length=20, choices=kind_choices)
    source = models.CharField(_("source"), max_length=40)
    file = models.CharField(_("stored file"), max_length=500, blank=True, default="")  # path under var/imports/
    original_name = models.CharField(_("file"), max_length=255, blank=True, default="")
    format = models.CharField(_("format"), max_length=10, choices=Format.choices)
    encoding = models.CharField(_("encoding"), max_length=30, blank=True, default="")
    headers = models.JSONField(_("columns in the file"), default=list, blank=True)
    mapping = models.JSONField(_("column mapping"), default=dict, blank=True)  # target field -> column header
    options = models.JSONField(_("import options"), default=dict, blank=True)  # key, owner_id, team_id, batch_size
    # What the import made besides its own rows: {"created_references": {"categories": [{"id", "code", "name"}],
    # "brands": [...], ...}} when the mapping's create_missing option let it create missing reference rows.
    result = models.JSONField(_("reference rows created"), default=dict, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.UPLOADED)
    total_rows = models.PositiveIntegerField(_("rows in the file"), null=True, blank=True)
    created = models.PositiveIntegerField(_("created"), default=0)
    updated = models.PositiveIntegerField(_("updated"), default=0)
    unchanged = models.PositiveIntegerField(_("unchanged"), default=0)
    rejected = models.PositiveIntegerField(_("rejected"), default=0)
    # Rows stored nowhere by the job's choice, not by an error: void order lines under the void policy "skip".
    skipped = models.PositiveIntegerField(_("skipped"), default=0)
    replayed = models.PositiveIntegerField(_("replayed"), default=0)
    last_row = models.PositiveIntegerField(_("last row loaded"), default=0)
    error = models.TextField(_("error"), blank=True, default="")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+",
                              verbose_name=_("uploaded by"))
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["actor", "id"], name="importjob_actor")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} {self.original_name}"

    @property
    def processed(self) -> int:
        return self.created + self.updated + self.unchanged + self.rejected + self.skipped

    @property
    def progress_percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        if not self.total_rows:
            return 0
        return min(99, int(100 * self.processed / self.total_rows))

    @property
    def is_active(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)


class QuarantinedRow(models.Model):
    """An input row that did not go in, with why. `errors` lists every problem; field/code/message is the first.

    Fixing the row and replaying it marks it replayed; it stays here as history."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        REPLAYED = "replayed", _("Replayed")

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="quarantine")
    row_number = models.PositiveIntegerField(_("row"))
    raw = models.JSONField(_("row as in the file"), default=dict)
    field = models.CharField(_("field"), max_length=60, blank=True, default="")
    code = models.CharField(_("code"), max_length=40)
    message = models.CharField(_("message"), max_length=500)
    errors = models.JSONField(_("errors"), default=list, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    replayed_at = models.DateTimeField(_("replayed at"), null=True, blank=True)

    class Meta:
        ordering = ["job", "row_number"]
        constraints = [models.UniqueConstraint(fields=["job", "row_number"], name="quarantine_unique_row")]

    def __str__(self) -> str:
        return f"job {self.job_id} row {self.row_number}: {self.code}"


class MappingTemplate(models.Model):
    """A saved column mapping for files from one source (a POS export, a branch's spreadsheet)."""

    name = models.CharField(_("name"), max_length=80)
    source = models.CharField(_("source"), max_length=40)
    kind = models.CharField(_("kind"), max_length=20, choices=kind_choices)
    mapping = models.JSONField(_("column mapping"), default=dict)
    options = models.JSONField(_("import options"), default=dict, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["source", "kind", "name"]
        constraints = [models.UniqueConstraint(fields=["source", "kind", "name"], name="mapping_unique_name")]

    def __str__(self) -> str:
        return f"{self.source}/{self.kind}: {self.name}"
