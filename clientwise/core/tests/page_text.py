"""What a page must not show as text: registered codes (sales_rep, pii.view; one-word codes like appliances on a
Chinese page) and catalog messages left in the other language. Shared by the page walker's test
(test_every_page.py, server-rendered HTML) and the browser smoke suite (e2e/test_smoke.py, the DOM after scripts
ran), so both judge a line the same way."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

# Names shown as they are in every language: the product, engines and formats, the language switcher's own names.
SAME_IN_EVERY_LANGUAGE = {"English", "简体中文", "Clientwise", "DuckDB", "Spark", "CSV", "XLSX", "Parquet", "API", "RFM",
                          "BG/NBD", "MBG/NBD", "Gamma-Gamma", "SKU", "AUC", "SLA", "ID", "CNY", "JSON Lines",
                          "Excel (XLSX)", "Excel（XLSX）", "LightGBM", "WeChat", "NPS", "CSAT"}
IDENTIFIER = re.compile(r"^[a-z][a-z0-9]*(?:[_.][a-z0-9]+)+$")  # sales_rep, pii.view, resolution_breach
WORD = re.compile(r"[A-Za-z][A-Za-z0-9_.\-]*[A-Za-z0-9]")
CJK = re.compile(r"[\u4e00-\u9fff]")
CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")
URL = re.compile(r"\bhttps?://\S+")


@cache
def po_entries() -> tuple[tuple[str, str], ...]:
    """(msgid, msgstr) of every zh_Hans catalog of the project (plural forms: the singular and msgstr[0])."""
    from django.conf import settings

    entries = []
    for po in sorted(Path(settings.BASE_DIR).glob("**/locale/zh_Hans/LC_MESSAGES/django.po")):
        current: dict[str, str] = {}
        key = None
        for line in [*po.read_text(encoding="utf-8").splitlines(), ""]:
            m = re.match(r'^(msgctxt|msgid|msgid_plural|msgstr(?:\[0\])?|msgstr\[\d+\]) "(.*)"$', line)
            if m:
                key = m.group(1)
                current[key] = current.get(key, "") + m.group(2)
            elif line.startswith('"') and key:
                current[key] += line[1:-1]
            elif not line.strip():
                msgid, msgstr = current.get("msgid", ""), current.get("msgstr", current.get("msgstr[0]", ""))
                if msgid and msgstr:
                    entries.append((msgid.replace('\\"', '"'), msgstr.replace('\\"', '"')))
                current, key = {}, None
    return tuple(entries)


def code_table() -> tuple[set[str], set[str]]:
    """Registered codes of the label table that must never show as they are: identifiers (sales_rep, pii.view)
    anywhere, and single lowercase words (appliances, registration) in Chinese pages."""
    from clientwise.core import labels

    identifiers, words = set(), set()
    for kind in labels.kinds().values():
        if kind.codes_visible_ok:
            continue
        for code in kind.labels:
            if str(kind.labels[code]) == code:
                continue  # a code that is its own label (API, CRM)
            if IDENTIFIER.match(code):
                identifiers.add(code)
            elif re.fullmatch(r"[a-z]{3,}", code):
                words.add(code)
    return identifiers, words


def _patterns(texts, key_of) -> dict[str, list[re.Pattern]]:
    """Messages with placeholders ("Ticket %(number)s escalated to %(name)s") as whole-line patterns, indexed by
    a key `key_of` finds in them (a word, or two Chinese characters) so a line is only tried on a few."""
    out: dict[str, list[re.Pattern]] = {}
    for text in texts:
        parts = re.split(r"%\(\w+\)[sd]|%[sd]", text)
        if len(parts) < 2:
            continue
        literal = "".join(parts)
        key = key_of(literal)
        if key is None:
            continue
        pattern = re.compile("^" + ".+?".join(re.escape(p) for p in parts) + "$", re.S)
        out.setdefault(key, []).append(pattern)
    return out


def _english_key(literal: str) -> str | None:
    words = [w for w in re.findall(r"[A-Za-z]{4,}", literal)]
    return max(words, key=len) if words and len("".join(words)) >= 8 else None


def _chinese_key(literal: str) -> str | None:
    runs = CJK_RUN.findall(literal)
    run = max(runs, key=len) if runs else ""
    return run[:2] if len(run) >= 3 else None


class TextCheck:
    """Judges the visible lines of a page in `language`: no registered code as visible text (an identifier like
    sales_rep anywhere, a one-word code like appliances on a Chinese page), no English message on a Chinese page
    (a line that is a catalog msgid, or a msgid with its placeholders filled), no Chinese message on an English
    page (the same with the msgstrs of three or more Chinese characters: shorter ones are also names in the demo's
    data). `names` are words that are people's names here (usernames such as admin), not codes."""

    def __init__(self, language: str, *, names: set[str] = frozenset()):
        self.language = language
        self.identifiers, words = code_table()
        self.words = words - set(names)
        entries = po_entries()
        self.english = {m for m, s in entries if m != s and WORD.search(m)} - SAME_IN_EVERY_LANGUAGE
        self.chinese = {s for m, s in entries if m != s and len("".join(CJK_RUN.findall(s))) >= 3} - \
            SAME_IN_EVERY_LANGUAGE
        self.english_patterns = _patterns(self.english, _english_key)
        self.chinese_patterns = _patterns(self.chinese, _chinese_key)

    def problems(self, line: str) -> set[str]:
        found = set()
        tokens = set(WORD.findall(URL.sub(" ", line)))  # an address shown as text (a web form's link) is no prose
        found |= {f"code {t}" for t in tokens & self.identifiers}
        if self.language == "zh-hans":
            found |= {f"code {t}" for t in tokens & self.words}
            if line in self.english or any(p.match(line) for w in tokens for p in self.english_patterns.get(w, ())):
                found.add(f"untranslated {line!r}")
        elif CJK.search(line):
            pairs = {line[i:i + 2] for i in range(len(line) - 1)}
            if line in self.chinese or any(p.match(line) for k in pairs for p in self.chinese_patterns.get(k, ())):
                found.add(f"Chinese {line!r}")
        return found
