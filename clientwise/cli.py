"""The `clientwise` command: our own commands plus everything manage.py offers.

Our commands (serve, demo, bench, createadmin, ...) are Django management commands in the apps, so
`clientwise X` and `python -m clientwise X` are the same thing as `manage.py X`.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clientwise.settings")
    from django.core.management import execute_from_command_line

    argv = list(sys.argv if argv is None else argv)
    argv[0] = "clientwise"
    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
