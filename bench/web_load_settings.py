"""Settings of the web load benchmark's server only (bench/bench_web_load.py): the product's settings, with the
bench URL conf that adds the floor views. Never used by the product itself."""

from clientwise.settings import *  # noqa: F403

ROOT_URLCONF = "bench.web_load_urls"
