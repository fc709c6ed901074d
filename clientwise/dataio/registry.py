"""Import kinds, registered by the domains that own them.

A kind is a name (`products`, `categories`, …), a label, the handler class that validates and writes a batch of
rows (see handlers.Handler), the fields a column may be mapped to (mapping.Target) and the natural keys rows may
be matched on besides (source, external_id). Every app registers its kinds from its AppConfig.ready() through an
`imports` module: customers (customers, interactions), commerce (products, stores, orders; categories, brands,
regions, branches, channels, units), sales (leads). dataio keeps the engine and owns no kind.

`register` is the only writer of the lookup tables the import engine reads — `HANDLERS` here and
`mapping.TARGETS` / `mapping.NATURAL_KEYS` — so a registered kind works everywhere a built-in one does: the
upload form, the API, `clientwise import KIND FILE`, mapping templates, preview, quarantine and replay.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from clientwise.dataio.mapping import NATURAL_KEYS, TARGETS, Target


@dataclass(frozen=True)
class ImportKindSpec:
    name: str
    label: Any  # a lazy translation
    handler: type
    targets: tuple[Target, ...]
    natural_keys: tuple[str, ...]
    order: int = 100  # position in the kind menus (dataio's own kinds come first)


_KINDS: dict[str, ImportKindSpec] = {}
# kind → handler class. The import engine looks handlers up here; tests may patch an entry (mock.patch.dict).
HANDLERS: dict[str, type] = {}


def register(spec: ImportKindSpec) -> ImportKindSpec:
    """Make an import kind available. Registering the same spec twice is harmless (apps may be readied again in
    tests); a second, different spec under a registered name is a configuration error."""
    known = _KINDS.get(spec.name)
    if known is not None and known != spec:
        raise ImproperlyConfigured(f"Import kind {spec.name!r} is already registered by {known.handler!r}.")
    if not spec.natural_keys:
        raise ImproperlyConfigured(f"Import kind {spec.name!r} needs at least one natural key.")
    names = {t.name for t in spec.targets}
    missing = [k for k in spec.natural_keys if k not in names]
    if missing:
        raise ImproperlyConfigured(f"Import kind {spec.name!r}: natural keys {missing} are not targets.")
    _KINDS[spec.name] = spec
    HANDLERS[spec.name] = spec.handler
    TARGETS[spec.name] = spec.targets
    NATURAL_KEYS[spec.name] = spec.natural_keys
    return spec


def kinds() -> list[ImportKindSpec]:
    """Every registered kind, in menu order."""
    return sorted(_KINDS.values(), key=lambda s: (s.order, s.name))


def kind_choices() -> list[tuple[str, Any]]:
    """(name, label) of every registered kind: the choices of ImportJob.kind and MappingTemplate.kind."""
    return [(s.name, s.label) for s in kinds()]


def get(kind: str) -> ImportKindSpec | None:
    return _KINDS.get(kind)


def label(kind: str) -> Any:
    spec = _KINDS.get(kind)
    return spec.label if spec else kind
