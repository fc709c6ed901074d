"""PII masking for users without the view_pii right. One function per kind of value, used by pages,
API schemas and exports alike."""

from __future__ import annotations


def mask_phone(value: str | None) -> str:
    """+8613812345678 -> 138****5678; keeps the first three and last four national digits."""
    if not value:
        return value or ""
    digits = value[3:] if value.startswith("+86") else value.lstrip("+")
    if len(digits) <= 4:
        return "*" * len(digits)
    head = digits[:3] if len(digits) >= 9 else digits[:1]
    return f"{head}****{digits[-4:]}"


def mask_email(value: str | None) -> str:
    """zhang.wei@example.com -> z***@example.com"""
    if not value:
        return value or ""
    local, _, domain = value.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def mask_id_number(value: str | None) -> str:
    """110105199001011234 -> 110***********1234"""
    if not value:
        return value or ""
    if len(value) <= 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_text(value: str | None) -> str:
    """Street addresses and other free text: keep the first two characters."""
    if not value:
        return value or ""
    return value[:2] + "****"


def mask_wechat(value: str | None) -> str:
    if not value:
        return value or ""
    return value[:2] + "****" + (value[-2:] if len(value) > 6 else "")


CONTACT_MASKERS = {
    "mobile": mask_phone,
    "landline": mask_phone,
    "email": mask_email,
    "wechat": mask_wechat,
    "address": mask_text,
}


def mask_contact(kind: str, value: str | None) -> str:
    return CONTACT_MASKERS.get(kind, mask_text)(value)


PII_KEYS = {"mobile": mask_phone, "email": mask_email, "id_number": mask_id_number}


def mask_record(data, *, pii: bool):
    """Mask PII inside audit snapshots and timeline payloads (nested dicts) for users without view_pii."""
    if pii or not isinstance(data, dict):
        return data
    kind = data.get("kind")
    out = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out[key] = mask_record(value, pii=False)
        elif key in PII_KEYS and isinstance(value, str):
            out[key] = PII_KEYS[key](value)
        elif key in ("value", "value_normalized") and isinstance(value, str) and kind in CONTACT_MASKERS:
            out[key] = mask_contact(kind, value)
        elif key in ("value", "value_normalized") and isinstance(value, str):
            out[key] = mask_text(value)
        else:
            out[key] = value
    return out
