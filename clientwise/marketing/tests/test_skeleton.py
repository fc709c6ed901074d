"""The app is installed with its rights: marketers and managers work here, analysts read, others see nothing."""

from __future__ import annotations

import pytest

from clientwise.core import permissions as perms
from clientwise.marketing.perms import APPROVE_CAMPAIGNS, CHANGE_MARKETING, VIEW_MARKETING


@pytest.mark.parametrize(("role", "view", "change", "approve"), [
    ("admin", True, True, True), ("manager_a", True, True, True), ("marketer", True, True, False),
    ("analyst", True, False, False), ("rep_a", False, False, False), ("agent", False, False, False),
    ("norole", False, False, False)])
def test_rights_per_role(org, role, view, change, approve):
    user = getattr(org, role)
    assert perms.has_perm(user, VIEW_MARKETING) is view
    assert perms.has_perm(user, CHANGE_MARKETING) is change
    assert perms.has_perm(user, APPROVE_CAMPAIGNS) is approve


def test_nav_entry_only_for_readers(org, web_client):
    page = web_client(org.marketer).get("/marketing/")
    assert page.status_code == 200
    assert 'href="/marketing/"' in page.content.decode()
    home = web_client(org.rep_a).get("/")
    assert 'href="/marketing/"' not in home.content.decode()
    assert web_client(org.rep_a).get("/marketing/").status_code == 403


def test_overview_in_both_languages(org, web_client):
    org.marketer.language = "zh-hans"
    org.marketer.save(update_fields=["language"])
    text = web_client(org.marketer).get("/marketing/").content.decode()
    assert "营销活动" in text and "还没有受众。" in text
    org.marketer.language = "en"
    org.marketer.save(update_fields=["language"])
    text = web_client(org.marketer).get("/marketing/").content.decode()
    assert "No audiences yet." in text and "营销活动" not in text
