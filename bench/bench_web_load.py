"""Web load benchmark: the production server set-up under 16 concurrent clients, beside a bare Django floor.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cw_webload_1m \\
        .venv/bin/python bench/bench_load.py --customers 1000000 --no-baseline     # once; the database is reused
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cw_webload_1m .venv/bin/python bench/bench_web_load.py

It starts `clientwise serve --production` (gunicorn with the product's default processes × threads, one task
worker, the scheduler; clientwise/processes.py) on a free loopback port against $DATABASE_URL, with
`bench.web_load_settings` — the product's settings whose URL conf (bench/web_load_urls.py) adds two bare views
that read one indexed row: the floor. It draws real customer ids and phone numbers from the database, makes an
API token for a user who sees every customer (`--api-user`, default `admin`) and a signed-in session for a
service agent (`--agent`, default `agent_1`), and drives `--users` (16) concurrent clients with locust (headless,
FastHttpUser, no think time; bench/web_load_locustfile.py) for each kind in turn, then the same requests against
the floor:

  api360   GET /api/v1/customers/<id>                  token      floor: GET /bench-floor/customer/<id>/
  page     GET /service/lookup/?phone=<11 digits>      session    floor: GET /bench-floor/phone/?phone=…
           → 200, the call screen itself (until 2026-12-07 a 302 to /service/call/<id>/?phone=…, followed inside
           the timed request): what the agent waits for
  search   GET /api/v1/customers?q=<11 digits>         token      floor: GET /bench-floor/phone/?phone=…

For each it prints requests/s over the measured window (after `--warmup` seconds), p50/p95/max in ms, errors
(any status other than the expected one, a page without the call screen, or a connection error), the ratios to
the floor (req/s floor ÷ product, p95 product ÷ floor), SQL queries per request (counted once in-process with
Django's test client), the machine's CPU busy % during the window, the CPU seconds of the server's processes and
of locust, and the 1-minute load average before and after — the machine is shared, so read every figure with it.

Targets (issue 16 item 2, 1M customers / ~10M order lines on PostgreSQL): api360 ≥ 300 req/s and page ≥ 100 req/s,
both p95 < 100 ms; search ≥ 400 req/s with p95 < 50 ms; zero errors.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
OUT = BENCH_DIR / "out"
SETTINGS = "bench.web_load_settings"
TARGETS = {"api360": (300, 100), "page": (100, 100), "search": (400, 50)}  # req/s at least, p95 ms below
CALL_SCREEN_MARK = 'id="call-screen"'


@dataclass
class Run:
    kind: str
    floor: bool
    requests: int = 0
    seconds: float = 0.0
    errors: int = 0
    p50: float = 0.0
    p95: float = 0.0
    max: float = 0.0
    busy: float = 0.0            # machine CPU busy %, both cores, over the whole run
    server_cpu: float = 0.0      # CPU seconds of the server's processes (gunicorn, worker, scheduler, honcho)
    db_cpu: float = 0.0          # CPU seconds of the PostgreSQL backends serving the database
    total: int = 0               # requests over the whole run (warm-up included), for CPU per request
    locust_cpu: float = 0.0
    load: tuple[float, float] = (0.0, 0.0)
    extra: dict = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def _django(var_dir: Path) -> None:
    os.environ.setdefault("CLIENTWISE_VAR_DIR", str(var_dir))
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cpu_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    with open("/proc/stat") as fh:
        parts = [int(x) for x in fh.readline().split()[1:]]
    idle = parts[3] + parts[4]
    return sum(parts) - idle, sum(parts)


def _tree_cpu(pid: int) -> float:
    import psutil

    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0.0
    for p in procs:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


def _pg_cpu(dbname: str) -> dict[int, float]:
    """CPU seconds of each PostgreSQL backend serving `dbname` on this machine (by its process title)."""
    import psutil

    out = {}
    for p in psutil.process_iter(["name", "cmdline"]):
        try:
            title = " ".join(p.info["cmdline"] or [])
            if title.startswith("postgres:") and f" {dbname} " in f"{title} ":
                t = p.cpu_times()
                out[p.pid] = t.user + t.system
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return out


def sample(args) -> dict:
    """Real customer ids and one-customer mobile numbers, as the agent types them (11 digits)."""
    from clientwise.customers.models import ContactPoint, Customer

    rng = np.random.default_rng(args.seed)
    hi = Customer.objects.order_by("-id").values_list("id", flat=True).first()
    lo = Customer.objects.order_by("id").values_list("id", flat=True).first()
    pick = sorted(set(rng.integers(lo, hi + 1, args.ids * 2).tolist()))
    ids = list(Customer.objects.filter(pk__in=pick, archived_at__isnull=True).values_list("id", flat=True))
    rng.shuffle(ids)
    ids = ids[: args.ids]
    hi = ContactPoint.objects.order_by("-id").values_list("id", flat=True).first()
    pick = sorted(set(rng.integers(1, hi + 1, args.phones * 4).tolist()))
    phones = list(ContactPoint.objects.filter(pk__in=pick, kind="mobile", customer__archived_at__isnull=True)
                  .values_list("value_normalized", flat=True))
    rng.shuffle(phones)
    keep = []
    for p in phones:  # a number several live customers share lands on a pick list, not the call screen
        if len(keep) == args.phones:
            break
        if p.startswith("+86") and Customer.objects.filter(
                contact_points__value_normalized=p, archived_at__isnull=True).distinct().count() == 1:
            keep.append(p.removeprefix("+86"))
    return {"ids": ids, "phones": keep}


def credentials(args) -> tuple[dict, object]:
    from django.test import Client

    from clientwise.accounts.models import User
    from clientwise.accounts.services import issue_token

    api_user = User.objects.get(username=args.api_user, is_active=True)
    agent = User.objects.get(username=args.agent, is_active=True)
    issued = issue_token(user=api_user, name="bench_web_load")
    client = Client()
    client.force_login(agent, backend="django.contrib.auth.backends.ModelBackend")
    session = client.cookies["sessionid"].value
    return ({"api": {"Authorization": f"Bearer {issued.secret}"}, "session": {"sessionid": session},
             "users": (api_user, agent)}, issued.token)


def plans(data: dict, headers: dict) -> dict[str, tuple[dict, dict]]:
    ids, phones = data["ids"], data["phones"]
    return {
        "api360": ({"kind": "api360", "paths": [f"/api/v1/customers/{i}" for i in ids], "headers": headers["api"],
                    "status": 200},
                   {"kind": "api360 floor", "paths": [f"/bench-floor/customer/{i}/" for i in ids],
                    "headers": headers["api"], "status": 200}),
        "page": ({"kind": "page", "paths": [f"/service/lookup/?phone={p}" for p in phones],
                  "headers": {}, "cookies": headers["session"], "status": 200, "contains": CALL_SCREEN_MARK},
                 {"kind": "page floor", "paths": [f"/bench-floor/phone/?phone={p}" for p in phones],
                  "headers": {}, "cookies": headers["session"], "status": 200}),
        "search": ({"kind": "search", "paths": [f"/api/v1/customers?q={p}" for p in phones],
                    "headers": headers["api"], "status": 200, "contains": '"items": [{'},
                   {"kind": "search floor", "paths": [f"/bench-floor/phone/?phone={p}" for p in phones],
                    "headers": headers["api"], "status": 200}),
    }


def queries_per_request(plan: dict, user) -> int:
    """SQL queries of the plan's first request, in this process (Django's test client, same settings)."""
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    if "testserver" not in settings.ALLOWED_HOSTS:
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    client = Client()
    extra = {}
    if plan.get("cookies"):
        client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    if "Authorization" in plan["headers"]:
        extra["HTTP_AUTHORIZATION"] = plan["headers"]["Authorization"]
    path = plan["paths"][0]
    client.get(path, follow=True, **extra)  # warm
    with CaptureQueriesContext(connection) as q:
        response = client.get(path, follow=True, **extra)
    assert response.status_code == plan["status"], (path, response.status_code)
    return len(q)


def check(base: str, plan: dict) -> None:
    """One request through the real server before the load, so a broken set-up fails loudly, not as errors."""
    cookies = "; ".join(f"{k}={v}" for k, v in plan.get("cookies", {}).items())
    request = urllib.request.Request(base + plan["paths"][0], headers={**plan["headers"], "Cookie": cookies})
    with urllib.request.urlopen(request, timeout=30) as response:
        body = response.read().decode()
        assert response.status == plan["status"], (plan["paths"][0], response.status)
    if plan.get("contains"):
        assert plan["contains"] in body, (plan["paths"][0], body[:300])


def drive(base: str, plan: dict, args, server_pid: int) -> Run:
    work = Path(tempfile.mkdtemp(prefix="webload-", dir=OUT))
    (work / "plan.json").write_text(json.dumps(plan))
    env = {**os.environ, "WEB_LOAD_PLAN": str(work / "plan.json"), "WEB_LOAD_OUT": str(work / "samples.json")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    cmd = [str(Path(sys.executable).with_name("locust")), "-f", str(BENCH_DIR / "web_load_locustfile.py"),
           "--headless", "-u", str(args.users), "-r", str(args.users), "--run-time", f"{args.warmup + args.duration}s",
           "--host", base, "--only-summary", "--loglevel", "WARNING", "--stop-timeout", "10"]
    load0 = os.getloadavg()[0]
    busy0, total0 = _cpu_ticks()
    server0 = _tree_cpu(server_pid)
    db0 = _pg_cpu(args.dbname) if args.dbname else {}
    started = time.time()
    with open(work / "locust.log", "w") as log:
        proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log)
        _pid, _status, usage = os.wait4(proc.pid, 0)
    busy1, total1 = _cpu_ticks()
    run = Run(kind=plan["kind"], floor="floor" in plan["kind"], load=(load0, os.getloadavg()[0]),
              busy=100.0 * (busy1 - busy0) / max(1, total1 - total0), server_cpu=_tree_cpu(server_pid) - server0,
              locust_cpu=usage.ru_utime + usage.ru_stime)
    if args.dbname:
        run.db_cpu = sum(cpu - db0.get(pid, 0.0) for pid, cpu in _pg_cpu(args.dbname).items())
    samples = json.loads((work / "samples.json").read_text())["samples"]
    if not samples:
        raise SystemExit(f"locust recorded nothing; see {work / 'locust.log'}")
    first = min(t - ms / 1000 for t, ms, _ok in samples)
    window_start = max(first, started) + args.warmup
    window = [(t, ms, ok) for t, ms, ok in samples if t - ms / 1000 >= window_start]
    end = max(t for t, _ms, _ok in window)
    times = np.array([ms for _t, ms, _ok in window])
    run.requests = len(window)
    run.total = len(samples)
    run.seconds = end - window_start
    run.errors = sum(1 for *_x, ok in samples if not ok)  # errors count over the whole run, warm-up included
    run.p50, run.p95, run.max = (float(np.percentile(times, 50)), float(np.percentile(times, 95)),
                                 float(times.max()))
    return run


def start_server(args, port: int, log_path: Path) -> subprocess.Popen:
    """What `clientwise serve --production` runs (processes.process_set + processes.run under honcho, with
    CLIENTWISE_PRODUCTION=1), after the same migrate and processes.collect_static — in a child process with the
    production settings (this process's settings are not), which collects only when the static sources changed
    since the bench's var dir was last collected (the first time: minutes of CPU, not part of what is measured)."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": SETTINGS, "PYTHONPATH": str(ROOT), "CLIENTWISE_PRODUCTION": "1"}
    started = time.perf_counter()
    collect = ("import sys, django; django.setup(); from clientwise import processes; "
               "sys.exit(0 if processes.collect_static() else 10)")
    done = subprocess.run([sys.executable, "-c", collect], cwd=ROOT, env=env)
    if done.returncode not in (0, 10):
        raise SystemExit(f"collecting the static files failed ({done.returncode})")
    print(f"static files {'collected' if done.returncode == 0 else 'up to date'} "
          f"({time.perf_counter() - started:.1f} s)", flush=True)
    code = ("import sys; from clientwise import processes; "
            f"sys.exit(processes.run(processes.process_set(addr='127.0.0.1:{port}', production=True, "
            f"web_processes={args.web_processes}, web_threads={args.web_threads}, "
            f"task_workers={args.task_workers}), env={{'CLIENTWISE_PRODUCTION': '1'}}))")
    with open(log_path, "w") as log:  # the child keeps its own descriptor
        proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server ended with {proc.returncode}; see {log_path}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(0.5)
    stop_server(proc)
    raise SystemExit(f"the server did not answer /healthz within 120 s; see {log_path}")


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)  # honcho stops web, worker and scheduler
    try:
        proc.wait(timeout=40)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _cpu(r: Run) -> str:
    n = max(1, r.total)
    return f"{1000 * r.server_cpu / n:.1f} + {1000 * r.db_cpu / n:.1f} + {1000 * r.locust_cpu / n:.1f}"


def report(runs: dict[str, tuple[Run, Run | None]], qcount: dict[str, int]) -> str:
    lines = ["| kind | target | req/s | p50 ms | p95 ms | max ms | errors | queries | floor req/s | floor p50 | "
             "floor p95 | req/s floor÷product | p95 product÷floor | CPU busy % | CPU ms/req server + db + locust "
             "| load 1-min |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- "
             "| --- |"]
    for kind, (r, f) in runs.items():
        need_rate, need_p95 = TARGETS[kind]
        met = r.rate >= need_rate and r.p95 < need_p95 and r.errors == 0
        target = f"≥ {need_rate}/s, p95 < {need_p95} ({'met' if met else 'NOT met'})"
        floor = (f"{f.rate:,.0f} | {f.p50:.1f} | {f.p95:.1f} | {f.rate / r.rate:.2f} | {r.p95 / f.p95:.2f}"
                 if f else "– | – | – | – | –")
        lines.append(f"| {kind} | {target} | {r.rate:,.0f} | {r.p50:.1f} | {r.p95:.1f} | {r.max:.0f} | {r.errors} | "
                     f"{qcount.get(kind, '–')} | {floor} | {r.busy:.0f} | {_cpu(r)} | "
                     f"{r.load[0]:.2f} → {r.load[1]:.2f} |")
        if f:
            lines.append(f"| {kind} floor | | {f.rate:,.0f} | {f.p50:.1f} | {f.p95:.1f} | {f.max:.0f} | {f.errors} | "
                         f"{qcount.get(kind + ' floor', '–')} "
                         f"| | | | | | {f.busy:.0f} | {_cpu(f)} | "
                         f"{f.load[0]:.2f} → {f.load[1]:.2f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kinds", default="api360,page,search", help="comma-separated: api360, page, search")
    parser.add_argument("--users", type=int, default=16, help="concurrent clients (default 16)")
    parser.add_argument("--duration", type=int, default=30, help="measured seconds per run (default 30)")
    parser.add_argument("--warmup", type=int, default=5, help="seconds of load before the measured window")
    parser.add_argument("--web-processes", type=int, default=int(os.environ.get("WEB_PROCESSES", "2")),
                        help="gunicorn processes (default: as `clientwise serve`, $WEB_PROCESSES or 2)")
    parser.add_argument("--web-threads", type=int, default=int(os.environ.get("WEB_THREADS", "4")),
                        help="threads per gunicorn process (default: as `clientwise serve`, $WEB_THREADS or 4)")
    parser.add_argument("--task-workers", type=int, default=int(os.environ.get("TASK_WORKERS", "1")))
    parser.add_argument("--api-user", default="admin", help="API token owner; must see every customer")
    parser.add_argument("--agent", default="agent_1", help="the service agent whose session opens the pages")
    parser.add_argument("--ids", type=int, default=2000, help="customer ids drawn for the 360 API")
    parser.add_argument("--phones", type=int, default=1000, help="one-customer mobile numbers drawn")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-floor", action="store_true", help="skip the floor runs")
    parser.add_argument("--no-service-data", action="store_true",
                        help="do not generate the service demo rows (tickets, work orders) when there are none")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args(argv)
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    unknown = set(kinds) - set(TARGETS)
    if unknown:
        parser.error(f"unknown kinds: {', '.join(sorted(unknown))}")
    if not os.environ.get("DATABASE_URL"):
        parser.error("set DATABASE_URL to the database bench_load.py filled (PostgreSQL for the issue's figures)")
    OUT.mkdir(parents=True, exist_ok=True)
    _django(OUT / "var")

    from django.core.management import call_command
    from django.db import connection

    from clientwise.accounts.services import revoke_token
    from clientwise.customers.models import Customer
    from clientwise.service.models import Ticket

    call_command("migrate", verbosity=0)
    if not Customer.objects.exists():
        raise SystemExit("no customers: fill the database first with bench/bench_load.py (see the docstring)")
    if not args.no_service_data and not Ticket.objects.exists():
        from bench_lookup import _service_demo  # the same service demo rows the lookup bench adds

        from clientwise.accounts.models import User

        started = time.perf_counter()
        counts = _service_demo(User.objects.get(username=args.agent))
        print(f"service demo rows generated in {time.perf_counter() - started:.1f} s: {counts}", flush=True)
    with connection.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM customers_customer")
        customers = cur.fetchone()[0]
        cur.execute("SELECT COUNT(*) FROM commerce_orderline")
        lines = cur.fetchone()[0]
    data = sample(args)
    headers, token = credentials(args)
    api_user, agent = headers.pop("users")
    all_plans = plans(data, headers)
    qcount = {}
    for k in kinds:
        user = agent if k == "page" else api_user
        qcount[k] = queries_per_request(all_plans[k][0], user)
        qcount[f"{k} floor"] = queries_per_request(all_plans[k][1], user)
    from django.conf import settings as dj

    args.dbname = dj.DATABASES["default"]["NAME"] if connection.vendor == "postgresql" else ""
    connection.close()

    print(f"database: {connection.vendor} {dj.DATABASES['default']['NAME']}: {customers:,} customers, "
          f"{lines:,} order lines; {len(data['ids']):,} ids, {len(data['phones']):,} phones; "
          f"{args.users} clients, {args.warmup} s warm-up + {args.duration} s measured per run", flush=True)

    port = _free_port()
    log_path = OUT / "web-load-server.log"
    server = start_server(args, port, log_path)
    base = f"http://127.0.0.1:{port}"
    runs: dict[str, tuple[Run, Run | None]] = {}
    try:
        print(f"server: the production process set (gunicorn {args.web_processes} processes × {args.web_threads} "
              f"threads gthread, {args.task_workers} task worker(s), scheduler) on {base}; log {log_path}", flush=True)
        for kind in kinds:
            product, floor = all_plans[kind]
            check(base, product)
            check(base, floor)
        for kind in kinds:
            product, floor = all_plans[kind]
            r = drive(base, product, args, server.pid)
            print(f"  {r.kind:<13} {r.rate:8,.0f} req/s  p50 {r.p50:6.1f}  p95 {r.p95:6.1f} ms  errors {r.errors}  "
                  f"busy {r.busy:.0f} %  load {r.load[0]:.2f}→{r.load[1]:.2f}", flush=True)
            f = None
            if not args.no_floor:
                f = drive(base, floor, args, server.pid)
                print(f"  {f.kind:<13} {f.rate:8,.0f} req/s  p50 {f.p50:6.1f}  p95 {f.p95:6.1f} ms  errors {f.errors}  "
                      f"busy {f.busy:.0f} %  load {f.load[0]:.2f}→{f.load[1]:.2f}", flush=True)
            runs[kind] = (r, f)
    finally:
        stop_server(server)
        revoke_token(user=api_user, token_id=token.pk)
    print()
    print(report(runs, qcount))
    if args.json:
        args.json.write_text(json.dumps({k: [vars(r), vars(f) if f else None] for k, (r, f) in runs.items()},
                                        indent=1, default=str))


if __name__ == "__main__":
    main()
