"""Ground truth kept beside a generated demo business, so analytics and dedup can be checked against it."""

from __future__ import annotations

from django.db import models


class DemoRun(models.Model):
    """One generated business: its seed, size, the 'now' that splits past from the held-out future."""

    seed = models.IntegerField()
    customers = models.IntegerField()
    order_lines = models.BigIntegerField(default=0)
    now = models.DateTimeField()
    history_start = models.DateTimeField()
    future_days = models.IntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    seconds = models.FloatField(default=0)
    orders = models.BigIntegerField(default=0)
    # What the run created besides source="demo" rows, so `demo --reset` removes exactly that.
    user_ids = models.JSONField(default=list, blank=True)
    team_ids = models.JSONField(default=list, blank=True)
    # Counts per table, load timings and anything else the summary reports.
    stats = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return f"demo run {self.pk} (seed {self.seed}, {self.customers} customers)"


class CustomerTruth(models.Model):
    """What the simulation knows about a customer and the CRM must infer.

    purchase_rate: latent purchases per year while alive (BG/NBD λ); dropout_prob: chance of silently
    leaving after each purchase (p); dropped_at: when they left (null: still alive at `now`);
    future_orders / future_revenue: what they do in the held-out period after `now`;
    dup_group: customers with the same dup_group are one real person (injected duplicates).
    dropped_at may lie after `now` (the customer leaves during the held-out period); null means alive to the
    end of the simulation. segment: the interest profile baskets start from; habit_category/habit_cycle_days:
    the replenishable category the customer re-buys on a cycle while alive (on top of the λ purchases).
    """

    customer_id = models.BigIntegerField(primary_key=True)
    purchase_rate = models.FloatField()
    dropout_prob = models.FloatField()
    dropped_at = models.DateTimeField(null=True)
    future_orders = models.IntegerField(default=0)
    future_revenue = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    dup_group = models.BigIntegerField(null=True, db_index=True)
    is_duplicate = models.BooleanField(default=False)
    acquired_at = models.DateTimeField(null=True)
    segment = models.CharField(max_length=20, blank=True, default="")
    habit_category = models.CharField(max_length=30, blank=True, default="")
    habit_cycle_days = models.IntegerField(null=True)

    def __str__(self) -> str:
        return f"truth for customer {self.customer_id}"
