"""Sales measures and dimensions for the pivot engine (clientwise.reports.semantic), defined once here.

The `sales` fact has one row per order line of a counted order (completed and converted to the base currency:
commerce.models.COUNTED). Money is in the base currency (settings.CURRENCY): a line's amount times its order's
exchange rate (the snapshot's materialized lines hold it converted already). Registered by the reports app at start-up
(reports/apps.py calls `register()`); docs/reports.md explains the SQL conventions.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from clientwise.commerce.models import Branch, Channel, Order, Product, Promoter, Region, Store
from clientwise.core import permissions as perms
from clientwise.reports.semantic import (
    Dimension,
    Fact,
    Join,
    Measure,
    Table,
    register_date_dimensions,
    register_dimension,
    register_fact,
    register_measure,
    register_table,
)

NO_STORE = _("Online / no store")


def _arrow(rows: list[tuple], names: list[str]):
    # pyarrow (with numpy, heavy) stays off the start-up path: reports' ready() imports this module.
    import pyarrow as pa

    columns = list(zip(*rows, strict=True)) if rows else [[] for _n in names]
    return pa.table({n: list(c) for n, c in zip(names, columns, strict=True)})


def load_products():
    rows = [(p, sku, name, cat, brand, model, str((attrs or {}).get("network", "")) or None)
            for p, sku, name, cat, brand, model, attrs in
            Product.objects.values_list("id", "sku", "name", "category_id", "brand", "model", "attributes")]
    return _arrow(rows, ["id", "sku", "name", "category_id", "brand", "model", "network"])


def load_stores():
    return _arrow(list(Store.objects.values_list("id", "code", "name", "city", "urban_rural", "branch_id")),
                  ["id", "code", "name", "city", "urban_rural", "branch_id"])


def load_branches():
    return _arrow(list(Branch.objects.values_list("id", "name", "region_id")), ["id", "name", "region_id"])


def load_regions():
    return _arrow(list(Region.objects.values_list("id", "name")), ["id", "name"])


def load_channels():
    return _arrow(list(Channel.objects.values_list("id", "code", "name", "kind")), ["id", "code", "name", "kind"])


def load_promoters():
    return _arrow(list(Promoter.objects.values_list("id", "name")), ["id", "name"])


def load_users():
    rows = [(pk, display or username) for pk, display, username in
            get_user_model().objects.values_list("id", "display_name", "username")]
    return _arrow(rows, ["id", "display_name"])


def user_name(alias: str) -> dict[str, str]:
    """A user's display name (the username when it is blank); the snapshot's users table has it resolved."""
    db = f"COALESCE(NULLIF({alias}.display_name, ''), {alias}.username)"
    return {"duckdb": f"{alias}.display_name", "sqlite": db, "postgresql": db}


def _first_purchase_source(engine: str) -> str:
    """Each customer's first purchase day (local calendar) over all completed orders."""
    table = Order._meta.db_table
    tz = settings.TIME_ZONE.replace("'", "")
    if engine == "duckdb":
        return "SELECT customer_id, MIN(day) AS first_day FROM orders GROUP BY customer_id"
    if engine == "sqlite":
        day = f"django_datetime_cast_date(ordered_at, '{tz}', 'UTC')"
    else:
        day = f"CAST(ordered_at AT TIME ZONE '{tz}' AS DATE)"
    return f"SELECT customer_id, MIN({day}) AS first_day FROM {table} WHERE status = 'completed' GROUP BY customer_id"


def _order_day() -> dict[str, str]:
    """The order's local calendar day, comparable with first_purchase.first_day on each engine."""
    tz = settings.TIME_ZONE.replace("'", "")
    return {"duckdb": "orders.day", "sqlite": f"django_datetime_cast_date(orders.ordered_at, '{tz}', 'UTC')",
            "postgresql": f"CAST(orders.ordered_at AT TIME ZONE '{tz}' AS DATE)"}


# A line's amount in the base currency, per engine: on the snapshot the materialized lines hold it converted; in
# the operational database it is the line's amount times its order's rate (the fact always joins its order).
LINE_AMOUNT = {"duckdb": "lines.amount", "sqlite": "lines.amount * orders.fx_rate",
               "postgresql": "lines.amount * orders.fx_rate"}


def register() -> None:
    # On the snapshot, lines of completed orders carry their order's columns and the keys of the hierarchies that
    # dimensions group by (category, branch, region), in one native DuckDB table built once per snapshot and sorted
    # by day: common pivots then scan that one table, join nothing per line, and join labels (region names, ...)
    # only onto the aggregated rows (docs/reports.md, "Performance").
    register_table(Table("lines", "commerce.OrderLine", "sales_lines", depends=("products", "stores", "branches"),
                         materialize=(
        "SELECT l.order_id, l.customer_id, l.product_id, l.quantity, l.amount * o.fx_rate AS amount, l.cost, o.id, "
        "o.ordered_at, o.day, "
        "o.store_id, o.channel_id, o.sales_rep_id, o.promoter_id, p.category_id, s.branch_id, b.region_id, "
        "CAST(date_trunc('month', DATE '1970-01-01' + o.day) AS DATE) AS month_start "
        "FROM lines l JOIN orders o ON o.id = l.order_id LEFT JOIN products p ON p.id = l.product_id "
        "LEFT JOIN stores s ON s.id = o.store_id LEFT JOIN branches b ON b.id = s.branch_id ORDER BY o.day")))
    register_table(Table("orders", "commerce.Order", "orders",
                         db_filter="orders.status = 'completed' AND orders.fx_rate IS NOT NULL"))
    register_table(Table("products", "commerce.Product", "products", loader=load_products))
    register_table(Table("categories", "commerce.ProductCategory", "categories"))
    register_table(Table("stores", "commerce.Store", "stores", loader=load_stores))
    register_table(Table("branches", "commerce.Branch", "branches", loader=load_branches))
    register_table(Table("regions", "commerce.Region", "regions", loader=load_regions))
    register_table(Table("channels", "commerce.Channel", "channels", loader=load_channels))
    register_table(Table("promoters", "commerce.Promoter", "promoters", loader=load_promoters))
    register_table(Table("reps", settings.AUTH_USER_MODEL, "users", loader=load_users))
    register_table(Table("first_purchase", None, "first_purchase", source=_first_purchase_source))

    register_fact(Fact(
        name="sales", label=_("Sales (order lines)"), base="lines", customer_column="lines.customer_id",
        perm=perms.VIEW_ORDERS, always=("orders",), merged_on_snapshot=("orders",),
        date_column={"duckdb": "orders.day", "db": "orders.ordered_at"},
        snapshot_columns={"products.category_id": "lines.category_id", "stores.branch_id": "lines.branch_id",
                          "branches.region_id": "lines.region_id"},
        joins=(
            Join("orders", "orders.id = lines.order_id", kind="INNER"),
            Join("products", "products.id = lines.product_id", late=True),
            Join("categories", "categories.id = products.category_id", ("products",),
                 snapshot_on="categories.id = lines.category_id", late=True),
            Join("stores", "stores.id = orders.store_id", ("orders",), late=True),
            Join("branches", "branches.id = stores.branch_id", ("stores",),
                 snapshot_on="branches.id = lines.branch_id", late=True),
            Join("regions", "regions.id = branches.region_id", ("branches",),
                 snapshot_on="regions.id = lines.region_id", late=True),
            Join("channels", "channels.id = orders.channel_id", ("orders",), late=True),
            Join("reps", "reps.id = orders.sales_rep_id", ("orders",), late=True),
            Join("promoters", "promoters.id = orders.promoter_id", ("orders",), late=True),
            Join("first_purchase", "first_purchase.customer_id = lines.customer_id"),
        ),
    ))

    day = _order_day()
    costs = perms.VIEW_COSTS
    amount = LINE_AMOUNT
    for m in (
        Measure("revenue", "sales", _("Revenue"), {e: f"SUM({a})" for e, a in amount.items()}, format="money",
                tables=("orders",),
                description=_("Sum of order line amounts (after discounts) of completed orders, in the base "
                              "currency.")),
        Measure("cost", "sales", _("Cost"), "SUM(lines.cost)", format="money", perm=costs),
        Measure("margin", "sales", _("Margin"), {e: f"SUM({a} - lines.cost)" for e, a in amount.items()},
                tables=("orders",), format="money", perm=costs, description=_("Revenue minus cost of goods.")),
        Measure("margin_rate", "sales", _("Margin rate"),
                {e: f"CAST(SUM({a} - lines.cost) AS DOUBLE) / NULLIF(SUM({a}), 0)" for e, a in amount.items()},
                tables=("orders",), format="pct", perm=costs, additive=False),
        Measure("quantity", "sales", _("Quantity"), "SUM(lines.quantity)", format="qty",
                description=_("Units sold; fractions for products sold by weight or volume (kg, L).")),
        Measure("orders", "sales", _("Orders"), "COUNT(DISTINCT lines.order_id)", format="int", additive=False),
        Measure("buyers", "sales", _("Buyers"), "COUNT(DISTINCT lines.customer_id)", format="int", additive=False,
                description=_("Distinct customers who bought.")),
        Measure("aov", "sales", _("Average order value"),
                {e: f"CAST(SUM({a}) AS DOUBLE) / NULLIF(COUNT(DISTINCT lines.order_id), 0)" for e, a in amount.items()},
                tables=("orders",), format="money", additive=False),
        Measure("new_customers", "sales", _("New customers"),
                {e: f"COUNT(DISTINCT CASE WHEN {d} = first_purchase.first_day THEN lines.customer_id END)"
                 for e, d in day.items()},
                tables=("orders", "first_purchase"), format="int", additive=False,
                description=_("Buyers whose first purchase ever falls in the cell.")),
        Measure("repeat_rate", "sales", _("Repeat-purchase rate"),
                {e: f"CAST(COUNT(DISTINCT CASE WHEN {d} > first_purchase.first_day THEN lines.customer_id END) "
                    f"AS DOUBLE) / NULLIF(COUNT(DISTINCT lines.customer_id), 0)" for e, d in day.items()},
                tables=("orders", "first_purchase"), format="pct", additive=False,
                description=_("Share of the cell's buyers who bought in it on a later day than their first "
                              "purchase.")),
    ):
        register_measure(m)

    product, place, people = _("Product"), _("Place"), _("People")
    sales = ("sales",)
    for d in (
        Dimension("product", _("Product"), "products.name", sales, key="lines.product_id", tables=("products",),
                  group=product),
        Dimension("category", _("Category"), "categories.name", sales, key="products.category_id",
                  tables=("products", "categories"), group=product),
        Dimension("brand", _("Brand"), "products.brand", sales, tables=("products",), group=product),
        Dimension("model", _("Model"), "products.model", sales, tables=("products",), group=product),
        Dimension("network", _("Network type"),
                  {"duckdb": "products.network", "sqlite": "json_extract(products.attributes, '$.network')",
                   "postgresql": "products.attributes ->> 'network'"}, sales, tables=("products",), group=product),
        # An order placed in no store (web, app, phone, partner channels) has no store, branch or region: it is a
        # real group of sales, named as such, not missing data.
        Dimension("store", _("Store"), "stores.name", sales, key="orders.store_id", tables=("orders", "stores"),
                  group=place, blank=NO_STORE),
        Dimension("store_city", _("Store city"), "stores.city", sales, tables=("orders", "stores"), group=place,
                  blank=NO_STORE),
        Dimension("branch", _("Branch"), "branches.name", sales, key="stores.branch_id",
                  tables=("orders", "stores", "branches"), group=place, blank=NO_STORE),
        Dimension("region", _("Region"), "regions.name", sales, key="branches.region_id",
                  tables=("orders", "stores", "branches", "regions"), group=place, blank=NO_STORE),
        Dimension("channel", _("Channel"), "channels.name", sales, key="orders.channel_id",
                  tables=("orders", "channels"), group=place),
        Dimension("sales_rep", _("Sales rep"), user_name("reps"), sales, key="orders.sales_rep_id",
                  tables=("orders", "reps"), group=people),
        Dimension("promoter", _("Promoter"), "promoters.name", sales, key="orders.promoter_id",
                  tables=("orders", "promoters"), group=people),
    ):
        register_dimension(d)
    register_date_dimensions("order", _("Order date"), facts=sales, tables=("orders",), duckdb_day="orders.day",
                             duckdb_columns={"month": "orders.month_start"},
                             db_column="orders.ordered_at", group=_("Time"))
