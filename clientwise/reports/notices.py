"""What the report mailer tells a schedule's owner (notifications.notify): each scheduled sending that went out,
and each that failed with its error."""

from __future__ import annotations

from django.urls import reverse

from clientwise.notifications import kinds
from clientwise.notifications.services import Target, notify


def _target(schedule) -> Target:
    return Target("reports.reportschedule", schedule.pk, reverse("reports:detail", args=[schedule.report_id]))


def schedule_sent(schedule, *, rows: int, now) -> None:
    notify([schedule.owner_id], kinds.JOB_DONE,
           {"variant": "report", "name": schedule.report.name, "rows": rows, "count": len(schedule.recipients)},
           _target(schedule), dedupe_key=f"sent:{now.isoformat()}")


def schedule_failed(schedule, *, error: str, now) -> None:
    notify([schedule.owner_id], kinds.JOB_FAILED, {"variant": "report", "name": schedule.report.name,
                                                   "error": error[:300]},
           _target(schedule), dedupe_key=f"failed:{now.isoformat()}")
