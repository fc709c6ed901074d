"""Transaction facts: regions → branches → stores, channels, catalog, orders and lines, returns."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from clientwise.commerce.rules import default_currency
from clientwise.core.models import SourcedModel


def unique_source_key(name: str) -> models.UniqueConstraint:
    return models.UniqueConstraint(fields=["source", "external_id"], condition=Q(external_id__isnull=False), name=name)


def money(verbose: str = "", **kwargs) -> models.DecimalField:
    return models.DecimalField(verbose or None, max_digits=14, decimal_places=2, default=Decimal("0"), **kwargs)


def quantity_field() -> models.DecimalField:
    return models.DecimalField(_("quantity"), max_digits=14, decimal_places=3)


def rate_field(verbose: str = "", **kwargs) -> models.DecimalField:
    """An exchange rate: units of the base currency (settings.CURRENCY) per unit of another, eight decimals."""
    return models.DecimalField(verbose or None, max_digits=18, decimal_places=8, **kwargs)


class Region(SourcedModel):
    """A sales region (华东, 华北, ...)."""

    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=100)
    team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["code"]
        constraints = [unique_source_key("region_unique_source_key")]

    def __str__(self) -> str:
        return self.name


class Branch(SourcedModel):
    """A branch office inside a region; usually also a team."""

    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="branches")
    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=100)
    team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["code"]
        constraints = [unique_source_key("branch_unique_source_key")]

    def __str__(self) -> str:
        return self.name


class Store(SourcedModel):
    """A point of sale (a shop, counter or outlet) belonging to a branch."""

    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, related_name="stores")
    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=100)
    province = models.CharField(_("province"), max_length=40, blank=True, default="")
    city = models.CharField(_("city"), max_length=60, blank=True, default="")
    district = models.CharField(_("district"), max_length=60, blank=True, default="")
    urban_rural = models.CharField(_("urban or rural"), max_length=5, blank=True, default="")
    opened_on = models.DateField(_("opened on"), null=True, blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["code"]
        constraints = [unique_source_key("store_unique_source_key")]

    def __str__(self) -> str:
        return self.name


class Channel(models.Model):
    """Where a sale happened: store, web, phone, partner, app."""

    class Kind(models.TextChoices):
        STORE = "store", _("Store")
        WEB = "web", _("Web")
        PHONE = "phone", _("Phone")
        PARTNER = "partner", _("Partner")
        APP = "app", _("App")

    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class ProductCategory(SourcedModel):
    """A product category; replenishable ones are bought again on a cycle (detergent, formula, ink)."""

    code = models.CharField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=100)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    replenishable = models.BooleanField(_("replenishable"), default=False)
    cycle_days = models.PositiveIntegerField(_("typical cycle (days)"), null=True, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "product categories"
        constraints = [unique_source_key("category_unique_source_key")]

    def __str__(self) -> str:
        return self.name


class Unit(models.Model):
    """A unit a product is sold in (piece, kg, L, ...); whether an order line may hold a fraction of it."""

    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=60)
    fractional = models.BooleanField(_("fractions allowed"), default=False)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Brand(SourcedModel):
    """A brand products are sold under. Products keep the brand as text (`Product.brand`, the pivot engine's
    brand dimension); this table is the list of those texts: a product's brand is matched to a row here by
    name, ignoring case, and a row is created for a name seen the first time (see commerce/reference.py)."""

    name = models.CharField(_("name"), max_length=60)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(Lower("name"), name="brand_unique_name"),
            unique_source_key("brand_unique_source_key"),
        ]

    def __str__(self) -> str:
        return self.name


class Product(SourcedModel):
    """A sellable item with its attributes (brand, model, network type, ...) and unit cost."""

    sku = models.CharField(_("SKU"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    category = models.ForeignKey(ProductCategory, on_delete=models.PROTECT, related_name="products")
    brand = models.CharField(_("brand"), max_length=60, blank=True, default="")
    model = models.CharField(_("model"), max_length=60, blank=True, default="")
    attributes = models.JSONField(_("attributes"), default=dict, blank=True)
    list_price = money(_("list price"))
    unit_cost = money(_("unit cost"))
    unit = models.ForeignKey(Unit, null=True, blank=True, on_delete=models.PROTECT, related_name="products",
                             verbose_name=_("unit"))
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["sku"]
        constraints = [unique_source_key("product_unique_source_key")]

    def __str__(self) -> str:
        return self.name


class Promoter(SourcedModel):
    """In-store promoter (导购) credited with sales; not necessarily a system user."""

    name = models.CharField(_("name"), max_length=100)
    store = models.ForeignKey(Store, null=True, blank=True, on_delete=models.SET_NULL, related_name="promoters")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")

    class Meta:
        ordering = ["name"]
        constraints = [unique_source_key("promoter_unique_source_key")]

    def __str__(self) -> str:
        return self.name


class ExchangeRate(SourcedModel):
    """How many units of the base currency (settings.CURRENCY) one unit of `currency` is worth from `day` on: the
    rate applies to orders placed (local calendar day) on that day and after, until the currency's next rate and
    for at most settings.FX_RATE_VALID_DAYS days (commerce.rules.rate_on; docs/reference-data.md)."""

    currency = models.CharField(_("currency"), max_length=3)
    day = models.DateField(_("valid from"))
    rate = rate_field(_("rate"))

    class Meta:
        ordering = ["currency", "-day"]
        constraints = [
            models.UniqueConstraint(fields=["currency", "day"], name="exchangerate_unique_day"),
            unique_source_key("exchangerate_unique_source_key"),
        ]

    def __str__(self) -> str:
        return f"{self.currency} {self.day:%Y-%m-%d} {self.rate.normalize():f}"


class Order(SourcedModel):
    """A purchase by a customer. Amounts are the sums of its lines (kept in step by the service), in the order's
    currency; `base_amount` is the amount in the base currency (settings.CURRENCY) at `fx_rate`, the rate captured
    when the order was stored. An order in a currency without a rate for its day has neither (both NULL): it is
    stored, flagged "waiting for an exchange rate", and left out of every total until a rate for its day is
    entered, which converts it (commerce.services.convert_waiting_orders)."""

    class Status(models.TextChoices):
        COMPLETED = "completed", _("Completed")
        CANCELLED = "cancelled", _("Cancelled")

    number = models.CharField(_("order number"), max_length=40, unique=True)
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="orders", db_index=False)
    store = models.ForeignKey(Store, null=True, blank=True, on_delete=models.PROTECT, related_name="orders",
                              db_index=False)
    channel = models.ForeignKey(Channel, null=True, blank=True, on_delete=models.PROTECT, related_name="orders",
                                db_index=False)
    sales_rep = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="sales", db_index=False)
    promoter = models.ForeignKey(Promoter, null=True, blank=True, on_delete=models.SET_NULL, related_name="orders",
                                 db_index=False)
    ordered_at = models.DateTimeField(_("ordered at"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.COMPLETED)
    currency = models.CharField(max_length=3, default=default_currency)
    subtotal = money(_("subtotal"))
    discount = money(_("discount"))
    amount = money(_("amount"))
    cost = money(_("cost"))
    fx_rate = rate_field(_("exchange rate"), null=True, blank=True)
    base_amount = models.DecimalField(_("amount in the base currency"), max_digits=14, decimal_places=2, null=True,
                                      blank=True)
    line_count = models.PositiveIntegerField(default=0)
    # Lines of the order still in an import's quarantine (line policy "keep the valid lines"): the order is
    # partial until they are replayed into it.
    missing_lines = models.PositiveIntegerField(_("lines missing"), default=0, db_default=0)

    class Meta:
        constraints = [unique_source_key("order_unique_source_key")]
        indexes = [
            models.Index(fields=["customer", "ordered_at"], name="order_customer"),
            models.Index(fields=["ordered_at", "id"], name="order_time"),
            models.Index(fields=["store", "ordered_at"], name="order_store"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def margin(self) -> Decimal | None:
        """Amount less cost, in the base currency (costs are kept in it); None while the order waits for a rate."""
        return None if self.base_amount is None else self.base_amount - self.cost

    @property
    def partial(self) -> bool:
        return self.missing_lines > 0

    @property
    def waiting_for_rate(self) -> bool:
        return self.fx_rate is None


# The orders every total counts (customer totals, home figures, reports, analytics): completed, and converted to the
# base currency. An order waiting for an exchange rate counts nowhere until it is converted.
COUNTED = Q(status=Order.Status.COMPLETED, fx_rate__isnull=False)


class OrderLine(models.Model):
    """One product on an order, priced by `commerce.rules.price_line`: gross = quantity × unit price (to the cent),
    amount = gross − discount (what the customer paid), discount = promotion + coupon + loyalty + manual; cost =
    quantity × unit cost. The quantity has three decimals (whole unless the product's unit allows fractions); 0 is
    a void line."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    customer_id = models.BigIntegerField()  # copied from the order; the analytics distribution column
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="order_lines", db_index=False)
    quantity = quantity_field()
    unit_price = models.DecimalField(_("unit price"), max_digits=14, decimal_places=4, default=Decimal("0"))
    promotion_discount = money(_("promotion discount"), db_default=Decimal("0"))
    coupon_discount = money(_("coupon discount"), db_default=Decimal("0"))
    loyalty_discount = money(_("loyalty discount"), db_default=Decimal("0"))
    manual_discount = money(_("manual discount"), db_default=Decimal("0"))
    discount = money(_("discount"))  # the four discounts' sum
    amount = money(_("amount"))
    cost = money(_("cost"))

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.product_id}"


class Return(SourcedModel):
    """Goods brought back: reduces the customer's revenue. `base_amount` is the refund in the base currency at its
    order's rate (NULL while the order waits for a rate)."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="returns")
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="returns", db_index=False)
    returned_at = models.DateTimeField(_("returned at"))
    amount = money(_("amount"))
    base_amount = models.DecimalField(_("amount in the base currency"), max_digits=14, decimal_places=2, null=True,
                                      blank=True)
    reason = models.CharField(_("reason"), max_length=200, blank=True, default="")

    class Meta:
        constraints = [unique_source_key("return_unique_source_key")]
        indexes = [models.Index(fields=["customer", "returned_at"], name="return_customer"),
                   models.Index(fields=["returned_at", "id"], name="return_time")]


class ReturnLine(models.Model):
    """Which order line came back, and how many."""

    ret = models.ForeignKey(Return, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="+")
    quantity = quantity_field()
    amount = money(_("amount"))

    def __str__(self) -> str:
        return f"{self.quantity} × line {self.order_line_id}"
