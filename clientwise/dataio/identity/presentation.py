"""How a pair is shown: the two records field by field, PII masked for users without view_pii, and the
evidence per compared field in words with its strength."""

from __future__ import annotations

from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from clientwise.core import labels, masking
from clientwise.core import permissions as perms

# The engine's comparison levels in words (registered in the label table by identity/display_labels.py).
LEVEL_LABELS = {
    "missing": _("missing on one side"),
    "different": _("different"),
    "same name": _("same name"),
    "same pinyin (another character)": _("same pinyin, another character"),
    "pinyin similar (Jaro-Winkler ≥ 0.92)": _("similar pinyin"),
    "pinyin close (≤ 2 edits)": _("pinyin differs in 1–2 letters"),
    "given and family names each ≤ 1 edit (either order)": _("given and family names alike, in either order"),
    "one name missing, the other the same": _("one name missing, the other the same"),
    "one name the same, the other's initial": _("one name the same, the other's initial"),
    "one of the names the same": _("one of the names the same"),
    "same mobile": _("same mobile"),
    "same last 8 digits": _("same last 8 digits"),
    "same email": _("same email"),
    "same local part, other provider": _("same name before @, other provider"),
    "local part similar": _("similar name before @"),
    "same birth date": _("same birth date"),
    "one digit differs or two swapped": _("one digit differs or two swapped"),
    "same day and month, or day and month swapped": _("same day and month, or day and month swapped"),
    "same birth year": _("same birth year"),
    "same address": _("same address"),
    "address similar (Jaro-Winkler ≥ 0.9)": _("similar address"),
    "address alike (Jaro-Winkler ≥ 0.75)": _("address alike"),
    "same postcode and city": _("same postcode and city"),
    "same postcode": _("same postcode"),
    "postcode one digit off or city similar": _("postcode one digit off or city similar"),
    "same city": _("same city"),
    "same province": _("same province"),
    "same ID number": _("same ID number"),
    "one character differs or two swapped": _("one character differs or two swapped"),
    "same gender": _("same gender"),
    "same occupation": _("same occupation"),
    "same income band": _("same income band"),
}


def strength(bf: float) -> tuple[str, str]:
    """(css class, words) for a Bayes factor."""
    if bf >= 1000:
        return "ev-strong", _("strong evidence")
    if bf >= 20:
        return "ev-good", _("good evidence")
    if bf > 1.05:
        return "ev-weak", _("weak evidence")
    if bf >= 0.95:
        return "ev-none", _("no evidence")
    return "ev-against", _("evidence against")


def _evidence(evidence: dict, key: str) -> dict | None:
    item = (evidence or {}).get(key)
    if not item:
        return None
    css, words = strength(float(item.get("bf", 1.0)))
    return {"label": labels.label("identity.level", item.get("label", "")), "bf": item.get("bf", 1.0),
            "weight": item.get("weight", 0.0), "css": css, "words": words}


def pair_rows(user, a, b, evidence: dict) -> list[dict]:
    """Rows of the side-by-side comparison: field label, value of A, value of B, evidence (or None)."""
    pii = perms.can_view_pii(user)

    def show(c, attr, kind=None):
        if c is None:
            return "—"
        value = getattr(c, attr)
        if value in (None, ""):
            return "—"
        if attr == "birth_date":
            return date_format(value, "Y-m-d")
        if attr in ("gender", "income_band", "status"):
            return getattr(c, f"get_{attr}_display")()
        if attr == "source":
            return labels.label("source", value)
        if kind and not pii:
            return masking.mask_contact(kind, value) if kind != "id_number" else masking.mask_id_number(value)
        return str(value)

    def place(c):
        if c is None:
            return "—"
        return " ".join(p for p in (c.province, c.city, postal(c)[1]) if p) or "—"

    def postal(c) -> tuple[str, str]:
        """The street address and postcode the engine compares: the primary postal address, else the oldest."""
        if c is None:
            return "", ""
        if not hasattr(c, "_postal"):
            c._postal = c.contact_points.filter(kind="address").order_by("-is_primary", "id").values_list(
                "value", "postal_code").first() or ("", "")
        return c._postal

    def street(c):
        value = postal(c)[0]
        if not value:
            return "—"
        return value if pii else masking.mask_contact("address", value)

    rows = [
        {"label": _("Name"), "a": show(a, "name"), "b": show(b, "name"), "ev": _evidence(evidence, "name")},
        {"label": _("Mobile"), "a": show(a, "mobile", "mobile"), "b": show(b, "mobile", "mobile"),
         "ev": _evidence(evidence, "mobile")},
        {"label": _("Email"), "a": show(a, "email", "email"), "b": show(b, "email", "email"),
         "ev": _evidence(evidence, "email")},
        {"label": _("Birth date"), "a": show(a, "birth_date"), "b": show(b, "birth_date"),
         "ev": _evidence(evidence, "birth_date")},
        {"label": _("Gender"), "a": show(a, "gender"), "b": show(b, "gender"), "ev": _evidence(evidence, "gender")},
        {"label": _("Street address"), "a": street(a), "b": street(b), "ev": _evidence(evidence, "address")},
        {"label": _("Province, city and postcode"), "a": place(a), "b": place(b), "ev": _evidence(evidence, "place")},
        {"label": _("ID number"), "a": show(a, "id_number", "id_number"), "b": show(b, "id_number", "id_number"),
         "ev": _evidence(evidence, "id_number")},
        {"label": _("Occupation"), "a": show(a, "occupation"), "b": show(b, "occupation"),
         "ev": _evidence(evidence, "occupation")},
        {"label": _("Income band"), "a": show(a, "income_band"), "b": show(b, "income_band"),
         "ev": _evidence(evidence, "income_band")},
        {"label": _("Member number"), "a": show(a, "member_number"), "b": show(b, "member_number"), "ev": None},
        {"label": _("Status"), "a": show(a, "status"), "b": show(b, "status"), "ev": None},
        {"label": _("Source"), "a": show(a, "source"), "b": show(b, "source"), "ev": None},
        {"label": _("Owner"), "a": show(a, "owner"), "b": show(b, "owner"), "ev": None},
    ]
    return rows
