"""The web load benchmark's floor views (bench/web_load_urls.py) live only in the bench's own URL conf: the
product's URL conf must not serve them, and the bench's must serve them beside every product URL."""

import importlib
import sys
from pathlib import Path

import pytest
from django.urls import Resolver404, get_resolver, resolve

ROOT = Path(__file__).resolve().parents[3]

FLOOR_PATHS = ["/bench-floor/customer/1/", "/bench-floor/phone/"]


@pytest.fixture
def bench_urls():
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return importlib.import_module("bench.web_load_urls")


def _names(resolver) -> set[str]:
    names = set()
    for key in resolver.reverse_dict:
        if isinstance(key, str):
            names.add(key)
    for namespace, (_prefix, sub) in resolver.namespace_dict.items():
        names |= {f"{namespace}:{n}" for n in _names(sub)}
    return names


def test_floor_views_are_not_in_the_product_urls(bench_urls):
    for path in FLOOR_PATHS:
        with pytest.raises(Resolver404):
            resolve(path, urlconf="clientwise.urls")
    product = get_resolver("clientwise.urls")
    assert not {"bench_floor_customer", "bench_floor_phone"} & _names(product)
    views = {bench_urls.floor_customer, bench_urls.floor_phone}
    assert not any(p.callback in views for p in _walk(product))


def test_bench_urls_serve_the_floor_and_the_product(bench_urls):
    assert resolve(FLOOR_PATHS[0], urlconf="bench.web_load_urls").func is bench_urls.floor_customer
    assert resolve(FLOOR_PATHS[1], urlconf="bench.web_load_urls").func is bench_urls.floor_phone
    for path in ["/service/lookup/", "/service/call/1/", "/api/v1/customers/1", "/api/v1/customers"]:
        assert resolve(path, urlconf="bench.web_load_urls").func is resolve(path, urlconf="clientwise.urls").func


def _walk(resolver):
    for entry in resolver.url_patterns:
        if hasattr(entry, "url_patterns"):
            yield from _walk(entry)
        else:
            yield entry
