"""The small, fixed part of the demo business: teams, staff, regions/branches/stores, channels, catalog, promoters.

Created through the ORM (and accounts.services.create_user for staff) in one transaction; the generator then
simulates customers and purchases against the ids recorded in `World`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from clientwise.accounts.models import Team, User
from clientwise.accounts.services import create_user
from clientwise.commerce.models import Branch, Channel, Product, ProductCategory, Promoter, Region, Store
from clientwise.commerce.reference import ensure_brands
from clientwise.customers.models import Tag
from clientwise.demo import catalog as C

STAFF_NAMES = ["王建国", "李秀英", "张伟", "刘洋", "陈静", "杨帆", "黄磊", "赵敏", "吴婷", "周杰", "徐丽", "孙浩",
               "马超", "朱琳", "胡军", "郭佳", "何欣", "林峰", "高翔", "罗倩", "郑宇", "梁静", "谢飞", "宋佳", "唐亮",
               "许晴", "邓超", "冯雪", "韩梅", "曹阳", "彭丽", "曾勇", "肖雨", "田野", "董洁", "潘明", "袁媛", "蔡斌",
               "蒋涛", "余欢", "于波", "杜鹃", "叶青", "程浩", "魏然", "苏琪"]


@dataclass
class StaffUser:
    username: str
    role: str
    team: str
    display_name: str
    created: bool  # False: an existing user with this name was reused (its password is unchanged)


@dataclass
class World:
    """Ids and lookup arrays the vectorised simulation indexes into."""

    # cities (one row per city)
    city_province: list[str]
    city_name: list[str]
    city_weight: np.ndarray
    city_urban: np.ndarray
    city_branch: np.ndarray  # branch index
    city_stores: np.ndarray  # (n_city, max stores) store ids, padded with the first
    city_store_count: np.ndarray
    # branches → teams → reps
    branch_teams: np.ndarray  # (n_branch, 2) team ids
    team_reps: dict[int, list[int]]
    store_promoters: dict[int, list[int]]
    # catalog
    leaf_codes: list[str]
    product_ids: np.ndarray
    product_cat: np.ndarray  # index into leaf_codes
    product_price: np.ndarray  # fen
    product_cost: np.ndarray  # fen
    product_weight: np.ndarray
    channel_ids: dict[str, int]
    tag_ids: dict[str, int]
    agent_ids: list[int]
    staff: list[StaffUser] = field(default_factory=list)
    user_ids: list[int] = field(default_factory=list)  # users this run created
    team_ids: list[int] = field(default_factory=list)  # teams this run created


def build_world(*, opened_before: dt.date) -> World:
    """Create the organization and catalog. Call inside a transaction."""
    staff: list[StaffUser] = []
    created_users: list[int] = []
    created_teams: list[int] = []
    names = iter(STAFF_NAMES * 3)

    def team(name: str, kind: str, parent: Team | None) -> Team:
        t = Team.objects.create(name=name, kind=kind, parent=parent)
        created_teams.append(t.pk)
        return t

    def user(username: str, role: str, team_obj: Team | None, **kw):
        existing = User.objects.filter(username=username).first()
        display = next(names)
        if existing is not None:
            staff.append(StaffUser(username, existing.role, str(existing.team or ""), str(existing), False))
            return existing
        u = create_user(username=username, password=C.DEMO_PASSWORD, role=role, team=team_obj,
                        display_name=display, email=f"{username}@demo.clientwise.cn", **kw)
        created_users.append(u.pk)
        staff.append(StaffUser(username, role, team_obj.name if team_obj else "", display, True))
        return u

    user("admin", "admin", None, is_superuser=True)
    hq = team("总部", Team.Kind.REGION, None)
    city_rows: list[tuple] = []
    branch_teams: list[list[int]] = []
    team_reps: dict[int, list[int]] = {}
    store_promoters: dict[int, list[int]] = {}
    city_stores: list[list[int]] = []
    promoter_names = iter(reversed(STAFF_NAMES * 8))
    store_no = 0
    for r_code, r_name, branches in C.REGIONS:
        r_team = team(f"{r_name}大区", Team.Kind.REGION, None)
        region = Region.objects.create(code=r_code, name=r_name, team=r_team, source=C.SOURCE)
        for b_code, b_name, cities in branches:
            b_team = team(f"{b_name}分公司", Team.Kind.BRANCH, r_team)
            branch = Branch.objects.create(region=region, code=b_code, name=f"{b_name}分公司", team=b_team,
                                           source=C.SOURCE)
            user(f"manager_{b_code.lower()}", "manager", b_team)
            t1 = team(f"{b_name}一组", Team.Kind.TEAM, b_team)
            t2 = team(f"{b_name}二组", Team.Kind.TEAM, b_team)
            team_reps[t1.pk] = [user(f"rep_{b_code.lower()}_1", "sales_rep", t1).pk,
                                user(f"rep_{b_code.lower()}_2", "sales_rep", t1).pk]
            team_reps[t2.pk] = [user(f"rep_{b_code.lower()}_3", "sales_rep", t2).pk]
            branch_teams.append([t1.pk, t2.pk])
            b_index = len(branch_teams) - 1
            for province, city, weight, urban, n_stores in cities:
                ids = []
                for k in range(n_stores):
                    store_no += 1
                    district = C.DISTRICTS[(store_no + k) % len(C.DISTRICTS)]
                    store = Store.objects.create(
                        branch=branch, code=f"S{store_no:03d}", name=f"{city}{district.removesuffix('区')}店", province=province,
                        city=city, district=district, urban_rural="urban" if urban >= 0.6 or k == 0 else "rural",
                        opened_on=opened_before - dt.timedelta(days=400 + 97 * store_no), source=C.SOURCE)
                    ids.append(store.pk)
                    store_promoters[store.pk] = [
                        Promoter.objects.create(name=next(promoter_names), store=store, source=C.SOURCE,
                                                external_id=f"P{store_no:03d}{j}").pk
                        for j in range(2)
                    ]
                city_stores.append(ids)
                city_rows.append((province, city, weight, urban, b_index))
    agents = [user(f"agent_{i}", "service_agent", hq).pk for i in (1, 2)]
    user("marketer", "marketer", hq)
    user("analyst", "analyst", hq)

    channel_ids = {}
    for code, name, kind in C.CHANNELS:
        channel_ids[code] = Channel.objects.get_or_create(code=code, defaults={"name": name, "kind": kind})[0].pk
    tag_ids = {name: Tag.objects.get_or_create(name=name, defaults={"color": color})[0].pk for name, color in C.TAGS}

    cats: dict[str, ProductCategory] = {}
    for code, name, parent, repl, cycle in C.CATEGORIES:
        cats[code] = ProductCategory.objects.create(code=code, name=name, parent=cats.get(parent) if parent else None,
                                                    replenishable=repl, cycle_days=cycle, source=C.SOURCE)
    leaf = C.LEAF_CATEGORIES
    # The brand list that products' brand texts are matched to (commerce/reference.py).
    ensure_brands((p[2] for p in C.PRODUCTS), source=C.SOURCE)
    products = Product.objects.bulk_create([
        Product(sku=sku, category=cats[cat], brand=brand, model=model, name=name, attributes=attrs,
                list_price=price / 100, unit_cost=cost / 100, source=C.SOURCE)
        for sku, cat, brand, model, name, price, cost, attrs, _w in C.PRODUCTS
    ])
    if products[0].pk is None:  # backends that do not return ids from bulk_create
        by_sku = dict(Product.objects.filter(source=C.SOURCE).values_list("sku", "id"))
        product_ids = [by_sku[p[0]] for p in C.PRODUCTS]
    else:
        product_ids = [p.pk for p in products]

    width = max(len(s) for s in city_stores)
    padded = np.array([s + [s[0]] * (width - len(s)) for s in city_stores], dtype=np.int64)
    return World(
        city_province=[c[0] for c in city_rows],
        city_name=[c[1] for c in city_rows],
        city_weight=np.array([c[2] for c in city_rows], dtype=float),
        city_urban=np.array([c[3] for c in city_rows], dtype=float),
        city_branch=np.array([c[4] for c in city_rows], dtype=np.int64),
        city_stores=padded,
        city_store_count=np.array([len(s) for s in city_stores], dtype=np.int64),
        branch_teams=np.array(branch_teams, dtype=np.int64),
        team_reps=team_reps,
        store_promoters=store_promoters,
        leaf_codes=leaf,
        product_ids=np.array(product_ids, dtype=np.int64),
        product_cat=np.array([leaf.index(p[1]) for p in C.PRODUCTS], dtype=np.int64),
        product_price=np.array([p[5] for p in C.PRODUCTS], dtype=np.int64),
        product_cost=np.array([p[6] for p in C.PRODUCTS], dtype=np.int64),
        product_weight=np.array([p[8] for p in C.PRODUCTS], dtype=float),
        channel_ids=channel_ids,
        tag_ids=tag_ids,
        agent_ids=agents,
        staff=staff,
        user_ids=created_users,
        team_ids=created_teams,
    )
