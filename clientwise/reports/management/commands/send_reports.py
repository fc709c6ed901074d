"""clientwise send_reports: e-mail the report schedules that are due (or --schedule the worker to do it)."""

from django.core.management.base import BaseCommand

from clientwise.reports import services, tasks


class Command(BaseCommand):
    help = "E-mail every scheduled report that is due now; --schedule queues the worker to keep doing it."

    def add_arguments(self, parser):
        parser.add_argument("--schedule", action="store_true",
                            help="queue the recurring mailer task for `clientwise worker` instead")

    def handle(self, *args, **options):
        if options["schedule"]:
            result = tasks.schedule_report_mailer()
            self.stdout.write("Mailer queued." if result else "A mailer run is already queued.")
            return
        sent = services.send_due_reports()
        self.stdout.write(f"Sent {sent} scheduled report(s).")
