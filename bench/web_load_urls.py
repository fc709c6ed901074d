"""URLs of the web load benchmark's server only: the product's URL conf plus two bare views that read one indexed
row each — the floor the product's requests are compared with (bench/bench_web_load.py). They sit outside the
product's URL conf (clientwise/urls.py); core/tests/test_web_load_bench.py checks that they stay out."""

from django.http import Http404, JsonResponse
from django.urls import include, path

from clientwise.customers.models import ContactPoint, Customer

FLOOR_PREFIX = "bench-floor/"


def floor_customer(request, pk: int):
    """One customer row by primary key, as JSON. No authentication, no scope, no serializer."""
    row = Customer.objects.filter(pk=pk).values("id", "name", "city", "status", "mobile").first()
    if row is None:
        raise Http404
    return JsonResponse(row)


def floor_phone(request):
    """One contact point by its normalized number (the contact_value index), as JSON."""
    digits = "".join(ch for ch in request.GET.get("phone", "") if ch.isdigit())
    number = f"+86{digits}" if len(digits) == 11 else f"+{digits}"
    row = ContactPoint.objects.filter(value_normalized=number).values("id", "customer_id").first()
    if row is None:
        raise Http404
    return JsonResponse(row)


urlpatterns = [
    path(f"{FLOOR_PREFIX}customer/<int:pk>/", floor_customer, name="bench_floor_customer"),
    path(f"{FLOOR_PREFIX}phone/", floor_phone, name="bench_floor_phone"),
    path("", include("clientwise.urls")),
]
