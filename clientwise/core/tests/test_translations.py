"""Every message an app marks for translation has a Chinese translation in that app's catalog.

For each app with a zh_Hans catalog, makemessages runs on a copy of the app (so the working tree is not touched)
and merges the source's messages into the copy of the catalog; a message left without a msgstr, or only with a
fuzzy guess, fails the test with its text. makemessages finds messages through the standard gettext names only, so
a second test refuses aliases it cannot see (`gettext_lazy as lazy`): their messages would be missed.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]  # the clientwise package
APPS = sorted(str(p.parents[3].relative_to(ROOT)) for p in ROOT.glob("**/locale/zh_Hans/LC_MESSAGES/django.po"))
GETTEXT_TOOLS = all(shutil.which(tool) for tool in ("xgettext", "msgmerge", "msgattrib"))


def _entries(po_text: str) -> list[tuple[str, str]]:
    """(flags, msgid) of each entry of a .po text whose msgstr is empty or that is marked fuzzy."""
    missing = []
    for block in po_text.split("\n\n"):
        lines = block.splitlines()
        flags = " ".join(line for line in lines if line.startswith("#,"))
        body = "\n".join(line for line in lines if not line.startswith("#"))
        msgid = "".join(re.findall(r'"(.*)"', body.split("msgstr")[0].split("msgid_plural")[0]))
        msgstrs = re.findall(r'msgstr(?:\[\d+\])? ((?:".*"\n?)+)', body + "\n")
        empty = any("".join(re.findall(r'"(.*)"', s)) == "" for s in msgstrs)
        if msgid and (empty or "fuzzy" in flags):
            missing.append((flags, msgid))
    return missing


@pytest.mark.skipif(not GETTEXT_TOOLS, reason="GNU gettext (xgettext, msgmerge, msgattrib) is not installed")
@pytest.mark.parametrize("app", APPS)
def test_every_message_has_a_chinese_translation(app, tmp_path):
    copy = tmp_path / "app"
    shutil.copytree(ROOT / app, copy, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}  # no project settings: the copy's
    # own locale directory is the only one makemessages writes to
    result = subprocess.run([sys.executable, "-m", "django", "makemessages", "-l", "zh_Hans", "--no-obsolete",
                             "-v", "0"], cwd=copy, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    po = (copy / "locale/zh_Hans/LC_MESSAGES/django.po").read_text(encoding="utf-8")
    missing = _entries(po)
    assert not missing, f"{app}: {len(missing)} messages without a zh msgstr (or fuzzy):\n" + "\n".join(
        f"  {msgid!r} {flags}" for flags, msgid in missing[:40])


def test_gettext_is_imported_under_names_makemessages_knows():
    """`from django.utils.translation import gettext_lazy as lazy` hides every lazy("...") from makemessages."""
    allowed = {"_", None}
    bad = []
    for path in ROOT.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module == "django.utils.translation":
                bad += [f"{path.relative_to(ROOT)}: {a.name} as {a.asname}" for a in node.names
                        if "gettext" in a.name and a.asname not in allowed]
    assert bad == []
