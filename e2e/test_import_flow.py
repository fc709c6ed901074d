"""Import in a real browser: upload a CSV with bad rows → map → preview errors → import → download the error
rows → fix them → replay → all rows in."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from clientwise.core.testing import TEST_PASSWORD as PASSWORD

pytestmark = pytest.mark.e2e

CSV = ("客户姓名,手机号码,会员卡号,出生日期\n"
       "张伟,13812345678,M001,1990-01-02\n"
       "李娜,12345,M002,1991-02-03\n"
       "王芳,13900001111,M003,1990/13/45\n"
       "赵磊,13900002222,M004,\n")


def test_upload_map_preview_import_fix_and_replay(live_server, page, login, org, tmp_path, settings):
    from clientwise.customers.models import Customer
    from clientwise.dataio.models import ImportJob

    settings.VAR_DIR = tmp_path
    source = tmp_path / "members.csv"
    source.write_text(CSV, encoding="utf-8")

    login("admin", PASSWORD)
    page.get_by_role("link", name="Data import").click()
    page.get_by_role("link", name="Import a file").first.click()
    page.select_option("select[name=kind]", "customers")
    page.set_input_files("input[name=file]", str(source))
    page.fill("input[name=source]", "branch-sh")
    page.get_by_role("button", name="Upload and map columns").click()

    # Mapping suggested from the Chinese headers.
    page.wait_for_url(re.compile(r"/data/imports/\d+/mapping/$"))
    expect(page.locator("select[name=map_name]")).to_have_value("客户姓名")
    expect(page.locator("select[name=map_mobile]")).to_have_value("手机号码")
    expect(page.locator("select[name=map_member_number]")).to_have_value("会员卡号")
    expect(page.locator("select[name=map_birth_date]")).to_have_value("出生日期")
    page.get_by_role("button", name="Preview").click()

    page.wait_for_url(re.compile(r"/preview/$"))
    errors = page.locator("#preview-errors")
    expect(errors).to_contain_text("“12345” is not a valid phone number.")
    expect(errors).to_contain_text("“1990/13/45” is not a date.")
    assert Customer.objects.count() == 0
    page.get_by_role("button", name="Run the import").click()

    page.wait_for_url(re.compile(r"/data/imports/\d+/$"))
    expect(page.locator("#job-counts")).to_contain_text("2")
    expect(page.locator("#quarantine-table tbody tr")).to_have_count(2)
    assert Customer.objects.count() == 2

    with page.expect_download() as info:
        page.locator("#download-errors").click()
    error_file = tmp_path / "errors.csv"
    info.value.save_as(error_file)
    text = error_file.read_text(encoding="utf-8-sig")
    assert "_row" in text and "12345" in text
    fixed = tmp_path / "fixed.csv"
    fixed.write_text(text.replace("李娜,12345,", "李娜,13700001234,").replace("1990/13/45", "1990-12-15"),
                     encoding="utf-8-sig")
    page.set_input_files("#f-replay", str(fixed))
    page.get_by_role("button", name="Replay fixed file").click()
    expect(page.locator(".cw-messages")).to_contain_text("2 rows went in, 0 still have errors")

    job = ImportJob.objects.get()
    assert (job.created, job.rejected, job.replayed) == (4, 0, 2)
    assert sorted(Customer.objects.values_list("member_number", flat=True)) == ["M001", "M002", "M003", "M004"]
    expect(page.locator("#quarantine-actions")).to_have_count(0)
