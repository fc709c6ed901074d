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


class CustomerTruth(models.Model):
    """What the simulation knows about a customer and the CRM must infer.

    purchase_rate: latent purchases per year while alive (BG/NBD λ); dropout_prob: chance of silently
    leaving after each purchase (p); dropped_at: when they left (null: still alive at `now`);
    future_orders / future_revenue: what they do in the held-out period after `now`;
    dup_group: customers with the same dup_group are one real person (injected duplicates).
    """

    customer_id = models.BigIntegerField(primary_key=True)
    purchase_rate = models.FloatField()
    dropout_prob = models.FloatField()
    dropped_at = models.DateTimeField(null=True)
    future_orders = models.IntegerField(default=0)
    future_revenue = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    dup_group = models.BigIntegerField(null=True, db_index=True)
    is_duplicate = models.BooleanField(default=False)
