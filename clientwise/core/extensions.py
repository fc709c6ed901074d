"""Extension points other apps register into from their AppConfig.ready(): navigation entries, cards on the
customer 360 page, periodic jobs for the scheduler, personal-data sections for data-subject requests, and
demo-data hooks. Core and customers read these registries;
they never import the apps.

    # clientwise/sales/apps.py
    def ready(self):
        from clientwise.core import extensions
        extensions.register_nav("sales", _("Sales"), "sales:index", "briefcase", perm=SALES_VIEW, order=30)
        extensions.register_customer_panel("sales/_customer_panel.html", customer_panel_context, order=20)

    # clientwise/service/apps.py
        extensions.register_periodic("sla_check", _("SLA check"), tasks.schedule_sla_check)

Demo hooks are not registered: `demo_modules()` finds an optional `<app>.demo_data` module with
`generate(ctx: DemoContext) -> dict[str, int]` (row counts to print) and `delete(using: str) -> None` (remove what
`generate` wrote, called before the demo customers and users are deleted).
"""

from __future__ import annotations

import datetime as dt
import importlib
import importlib.util
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from django.apps import apps


@dataclass(frozen=True)
class NavEntry:
    key: str
    label: Any  # a lazy translation
    url_name: str
    icon: str  # Bootstrap Icons name without the "bi-" prefix
    perm: str | None = None  # shown only to roles with this permission (core.permissions)
    order: int = 50  # position among the registered entries (the built-in ones come first)


@dataclass(frozen=True)
class CustomerPanel:
    template: str  # rendered with the 360 page's context plus `panel` (what context() returned)
    context: Callable[[Any, Any], dict | None]  # (user, customer) -> dict, or None to hide the card
    order: int = 50


NAV: list[NavEntry] = []
CUSTOMER_PANELS: list[CustomerPanel] = []


def register_nav(key: str, label, url_name: str, icon: str, *, perm: str | None = None, order: int = 50) -> None:
    if any(e.key == key for e in NAV):
        return  # ready() may run twice in tests
    NAV.append(NavEntry(key, label, url_name, icon, perm, order))
    NAV.sort(key=lambda e: e.order)


def register_customer_panel(template: str, context: Callable[[Any, Any], dict | None], *, order: int = 50) -> None:
    if any(p.template == template for p in CUSTOMER_PANELS):
        return
    CUSTOMER_PANELS.append(CustomerPanel(template, context, order))
    CUSTOMER_PANELS.sort(key=lambda p: p.order)


@dataclass(frozen=True)
class PeriodicJob:
    """A chain of background tasks that must always have its next run queued (nightly scoring, the SLA check…).

    `ensure()` queues the next run unless one is already waiting, and returns what it queued (None otherwise); the
    scheduler (`clientwise scheduler`, core/scheduler.py) calls it every minute, so a chain broken by a crash, a
    restore or a purged queue starts again by itself."""

    key: str
    label: Any
    ensure: Callable[[], Any]


PERIODIC: list[PeriodicJob] = []


def register_periodic(key: str, label, ensure: Callable[[], Any]) -> None:
    if any(j.key == key for j in PERIODIC):
        return
    PERIODIC.append(PeriodicJob(key, label, ensure))


# Functions (user, customer_id) -> bool naming users who work with a customer right now and may therefore see
# its unmasked phone or e-mail on demand (customers.services.may_reveal_contact): sales registers "an open call or
# task of theirs for this customer". Core and customers call them; they never import the apps.
CONTACT_REASONS: list[Callable[[Any, int], bool]] = []


def register_contact_reason(reason: Callable[[Any, int], bool]) -> None:
    if reason not in CONTACT_REASONS:
        CONTACT_REASONS.append(reason)


@dataclass(frozen=True)
class PersonalDataSection:
    """What one app holds about a person, for data-subject requests (the privacy app, docs/privacy.md).

    `export(subject)` returns the app's tables about the subject: a list of
    {"key": str, "title": lazy text, "columns": [(name, label), ...], "rows": [{name: value}, ...]}.
    `erase(erasure)` removes or anonymises the app's personal data of `erasure.subject` inside the erasure's one
    transaction, keeping facts that must stay (orders' amounts, dates, products, stores), and reports what it did
    through the erasure object (counts, rows touched, files to delete after the commit). Both receive the privacy
    app's objects (privacy.subject.Subject / Erasure) and must not check permissions: the privacy service has."""

    key: str
    label: Any
    export: Callable[[Any], list[dict]]
    erase: Callable[[Any], None]
    order: int = 50


PERSONAL_DATA: list[PersonalDataSection] = []


def register_personal_data(key: str, label, *, export: Callable[[Any], list[dict]], erase: Callable[[Any], None],
                           order: int = 50) -> None:
    if any(s.key == key for s in PERSONAL_DATA):
        return
    PERSONAL_DATA.append(PersonalDataSection(key, label, export, erase, order))
    PERSONAL_DATA.sort(key=lambda s: s.order)


def customer_panels(user, customer) -> list[dict]:
    """The registered cards for one customer, in order, each as {"template", "panel"}; a card whose context
    function returns None (nothing to show, or no right to see it) is left out."""
    out = []
    for p in CUSTOMER_PANELS:
        ctx = p.context(user, customer)
        if ctx is not None:
            out.append({"template": p.template, "panel": ctx})
    return out


# --- Lower layers reading what higher ones own -------------------------------------------------------------------
# core sits below every domain app and imports none of them. What core's pages (home, audit log) and the customer
# page need from the apps above arrives through these registries, filled in the apps' AppConfig.ready().

_CUSTOMER_SCOPE: list[Callable[[Any], Any]] = []
HOME_SOURCES: dict[str, Callable[..., Any]] = {}
CUSTOMER_CONTEXT: dict[str, Callable[[Any, Any], Any]] = {}


def register_customer_scope(factory: Callable[[Any], Any]) -> None:
    """The customers app registers CustomerScope.for_user: the one answer to "which customers may this user see"."""
    _CUSTOMER_SCOPE[:] = [factory]


def customer_scope(user):
    """The user's customers.scope.CustomerScope (core code uses only its public methods)."""
    if not _CUSTOMER_SCOPE:
        raise RuntimeError("No customer scope registered: is clientwise.customers installed?")
    return _CUSTOMER_SCOPE[0](user)


def register_home_source(key: str, source: Callable[..., Any]) -> None:
    """A figure the home page reads (commerce: "key_figures", "trend"; customers: "activity")."""
    HOME_SOURCES[key] = source


def home_source(key: str) -> Callable[..., Any] | None:
    return HOME_SOURCES.get(key)


def register_customer_context(key: str, provider: Callable[[Any, Any], Any]) -> None:
    """A value the customer 360 page's template reads as `key`, from the app that owns it: provider(user,
    customer) (commerce: "orders"; analytics: "analytics_scores"; dedup: "merged_into", "duplicate_pair"; data
    quality: "quality"). Unlike a panel it has no card of its own: the customers template places it."""
    CUSTOMER_CONTEXT[key] = provider


GROUND_TRUTH: dict[str, Callable[[], Any]] = {}


def register_ground_truth(key: str, source: Callable[[], Any]) -> None:
    """Known answers an app can measure itself against (the demo generator: "duplicate_pairs")."""
    GROUND_TRUTH[key] = source


def ground_truth(key: str) -> Callable[[], Any] | None:
    return GROUND_TRUTH.get(key)


CITY_SOURCES: dict[str, Callable[[], list[str]]] = {}


def register_city_source(key: str, source: Callable[[], list[str]]) -> None:
    """Cities the customer list's city filter offers (commerce: its stores' cities)."""
    CITY_SOURCES[key] = source


def city_sources() -> list[Callable[[], list[str]]]:
    return list(CITY_SOURCES.values())


def customer_context(user, customer) -> dict[str, Any]:
    return {key: provider(user, customer) for key, provider in CUSTOMER_CONTEXT.items()}


@dataclass
class DemoContext:
    """What an app's demo_data.generate needs to fit its rows into the generated business."""

    seed: int
    now: dt.datetime
    source: str  # the `source` value demo rows carry ("demo")
    quiet: bool = True
    staff: list[Any] = field(default_factory=list)  # demo users created or reused: .username, .role, .team


def demo_modules() -> Iterator[ModuleType]:
    """Each installed Clientwise app's `demo_data` module, in INSTALLED_APPS order."""
    for config in apps.get_app_configs():
        if not config.name.startswith("clientwise."):
            continue
        name = f"{config.name}.demo_data"
        if importlib.util.find_spec(name) is not None:
            yield importlib.import_module(name)
