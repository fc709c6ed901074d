import functools

import pytest

from clientwise.core.errors import DomainError
from clientwise.customers import queries, services
from clientwise.customers.queries import CustomerFilters, filter_customers, visible_customers
from clientwise.customers.tests.factories import make_customer


@pytest.fixture
def people(org):
    a = make_customer(org.rep_a, "张伟", mobile="13812345678", member_number="M001")
    a2 = make_customer(org.rep_a2, "李娜")
    b = make_customer(org.rep_b, "王芳", email="wang@example.com")
    shared = make_customer(org.rep_b, "赵敏")
    services.share_customer(actor=org.rep_b, customer_id=shared.pk, team_id=org.team_a.pk)
    return {"a": a, "a2": a2, "b": b, "shared": shared}


def names(qs):
    return sorted(qs.values_list("name", flat=True))


def test_visibility_per_role(org, people):
    assert names(visible_customers(org.rep_a)) == ["张伟", "赵敏"]  # own + shared with team A
    assert names(visible_customers(org.rep_b)) == ["王芳", "赵敏"]
    assert names(visible_customers(org.manager_a)) == ["张伟", "李娜"]  # team A subtree
    assert names(visible_customers(org.admin)) == ["张伟", "李娜", "王芳", "赵敏"]
    assert names(visible_customers(org.analyst)) == ["张伟", "李娜", "王芳", "赵敏"]
    assert names(visible_customers(org.norole)) == []


def test_get_customer_for_hides_invisible_as_missing(org, people):
    with pytest.raises(DomainError) as exc:
        queries.get_customer_for(org.rep_a, people["b"].pk)
    assert exc.value.status == 404
    with pytest.raises(DomainError):
        queries.get_customer_for(org.rep_a, "abc")
    assert queries.get_customer_for(org.rep_a, people["shared"].pk).name == "赵敏"


@pytest.mark.parametrize("q, expected", [
    ("13812345678", ["张伟"]),
    ("138 1234 5678", ["张伟"]),
    ("+86 138-1234-5678", ["张伟"]),
    ("M001", ["张伟"]),
    ("张", ["张伟"]),
    ("zhang", ["张伟"]),
    ("zhangw", ["张伟"]),
    ("zw", ["张伟"]),
    ("ZW", ["张伟"]),
    ("wang@example.com", ["王芳"]),
    ("WANG@example.com", ["王芳"]),
    ("l", ["李娜"]),
    ("nobody", []),
])
def test_search(org, people, q, expected):
    assert names(filter_customers(visible_customers(org.admin), CustomerFilters(q=q))) == expected


def test_filters_and_archived(org, people):
    services.archive_customer(actor=org.admin, customer_id=people["a2"].pk)
    admin_qs = visible_customers(org.admin)
    assert names(filter_customers(admin_qs, CustomerFilters())) == ["张伟", "王芳", "赵敏"]
    assert names(filter_customers(admin_qs, CustomerFilters(archived=True))) == ["李娜"]
    assert names(filter_customers(admin_qs, CustomerFilters(owner=org.rep_b.pk))) == ["王芳", "赵敏"]


def test_customer_page_walks_all_rows_in_pinyin_order(org):
    for name in ["王五", "李四", "张三", "Alice", "赵六", "陈七", "周八"]:
        make_customer(org.admin, name)
    seen, cursor = [], None
    while True:
        page = queries.customer_page(org.admin, CustomerFilters(), sort="name", cursor=cursor, size=3)
        seen += [c.name for c in page.items]
        cursor = page.next_cursor
        if not cursor:
            break
    assert seen == ["Alice", "陈七", "李四", "王五", "张三", "赵六", "周八"]


def test_cursor_from_another_sort_is_a_clean_error(org):
    make_customer(org.admin, "甲")
    make_customer(org.admin, "乙")
    page = queries.customer_page(org.admin, CustomerFilters(), sort="name", size=1)
    with pytest.raises(DomainError) as exc:
        queries.customer_page(org.admin, CustomerFilters(), sort="-created", cursor=page.next_cursor, size=1)
    assert exc.value.code == "invalid_cursor"


def test_mask_record():
    data = {"mobile": "+8613812345678", "kind": "email", "value": "zhang@example.com", "city": "上海",
            "nested": {"id_number": "110105199001011234"}}
    assert queries.mask_record(data, pii=False) == {
        "mobile": "138****5678", "kind": "email", "value": "z***@example.com", "city": "上海",
        "nested": {"id_number": "110***********1234"}}
    assert queries.mask_record(data, pii=True) is data


@pytest.mark.parametrize("sort", ["name", "-name", "-revenue", "created", "-orders"])
def test_search_pages_branch_by_branch_and_matches_the_single_filter(org, sort):
    # "zh" matches by pinyin prefix (张, 赵, 周...), by initials (Zhou Hui → zh) and by English-name prefix.
    for i, name in enumerate(["张三", "赵六", "周八", "朱慧", "张伟", "Zhang Li", "王五", "李四", "郑好", "钟华"]):
        make_customer(org.admin, name, member_number=f"M{i:03d}")
    expected = set(filter_customers(visible_customers(org.admin), CustomerFilters(q="zh")).values_list("pk", flat=True))
    seen, cursor = [], None
    while True:
        page = queries.customer_page(org.admin, CustomerFilters(q="zh"), sort=sort, cursor=cursor, size=2)
        seen += [c.pk for c in page.items]
        cursor = page.next_cursor
        if not cursor:
            break
    assert len(seen) == len(set(seen)) and set(seen) == expected and len(expected) == 8
    # The order is the sort's order, ties broken by id, across branch boundaries.
    rows = {c.pk: c for c in visible_customers(org.admin).filter(pk__in=seen)}
    field = queries.SORTS[sort].lstrip("-")
    keys = [(functools.reduce(getattr, field.split("__"), rows[pk]), pk) for pk in seen]  # stats__revenue too
    assert keys == sorted(keys, reverse=queries.SORTS[sort].startswith("-"))
    # Walking back from the last page gives the same rows in the same order.
    back, cursor = [], page.prev_cursor
    while cursor:
        page = queries.customer_page(org.admin, CustomerFilters(q="zh"), sort=sort, cursor=cursor, size=2)
        back = [c.pk for c in page.items] + back
        cursor = page.prev_cursor
    assert back == seen[: len(back)] and len(back) >= len(seen) - 2


def test_latin_names_sort_among_chinese_ones_by_pinyin(org):
    """Issue 15 ("Amy Brown" before every Chinese name): names sort by their pinyin key, so a Latin name takes
    its place by its letters — after 艾 (ai), before 白 (bai); "Zoe" after 张 (zhang) — not ahead of them all."""
    for name in ["Zoe Wang", "白凤", "Amy Brown", "张三", "艾伦"]:
        make_customer(org.admin, name)
    page = queries.customer_page(org.admin, CustomerFilters(), sort="name", size=10)
    assert [c.name for c in page.items] == ["艾伦", "Amy Brown", "白凤", "张三", "Zoe Wang"]


def test_customer_count_is_exact_up_to_the_cap_and_follows_scope_filters_and_search(org, people):
    """The list's total (issue 15: the list had none): bounded by the cap, so a million rows are never counted."""
    assert queries.customer_count(org.admin, CustomerFilters()) == queries.ListCount(4, False)
    assert queries.customer_count(org.rep_a, CustomerFilters()) == queries.ListCount(2, False)  # own + shared
    assert queries.customer_count(org.admin, CustomerFilters(), cap=3) == queries.ListCount(3, True)
    # A search by an all-seeing user counts each branch and unites them: 张伟 matches by name, pinyin and
    # initials, once.
    assert queries.customer_count(org.admin, CustomerFilters(q="张")) == queries.ListCount(1, False)
    assert queries.customer_count(org.admin, CustomerFilters(q="zhang")) == queries.ListCount(1, False)
    assert queries.customer_count(org.rep_b, CustomerFilters(q="wang")) == queries.ListCount(1, False)
