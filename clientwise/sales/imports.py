"""Sales' import kind "leads", registered with dataio's import engine (dataio/registry.py) from SalesConfig.ready():
a leads file works wherever a kind does — the upload page, the entry grid, `POST /api/v1/imports`,
`clientwise import leads FILE`, mapping templates, preview, quarantine and replay — and the sales page's
"Import leads" runs the same job at once.

Each row goes through sales.services.import_lead_row, the rule the API's lead import uses too: validation,
the likely-existing-customer check, scoring and assignment are create_lead's and update_lead's; a row with an
external id updates the lead of that source and id.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy

from clientwise.core import permissions as perms
from clientwise.core.errors import DomainError
from clientwise.dataio.handlers import Handler, Row
from clientwise.dataio.mapping import Target
from clientwise.dataio.registry import ImportKindSpec, register
from clientwise.sales import services
from clientwise.sales.perms import CHANGE_SALES


class LeadHandler(Handler):
    kind = "leads"
    perm = CHANGE_SALES

    @classmethod
    def check_permission(cls, actor) -> None:
        """Leads are sales work: whoever may add leads may import them (a rep gets them assigned as one typed
        in would be), without the general data-import right."""
        perms.require(actor, CHANGE_SALES)

    def process(self, rows: list[Row]) -> None:
        for row in rows:
            if not row.ok:
                continue
            data = {k: v for k, v in row.values.items() if v}
            try:
                outcome, lead = services.import_lead_row(actor=self.actor, row=data, source=self.source)
            except DomainError as exc:
                row.reject(exc)
                continue
            row.outcome = outcome
            self.summary["created_ids" if outcome == "created" else "updated_ids"].append(lead.pk)


KIND = ImportKindSpec("leads", gettext_lazy("Leads"), LeadHandler, (
    Target("name", gettext_lazy("Contact name"), ("name", "contact", "contact name", "姓名", "联系人", "客户姓名")),
    Target("company", gettext_lazy("Company"), ("company", "organization", "公司", "单位", "企业", "公司名称")),
    Target("mobile", gettext_lazy("Mobile"), ("mobile", "phone", "手机", "手机号", "电话", "联系电话"),
           pii="mobile"),
    Target("email", gettext_lazy("E-mail"), ("email", "e-mail", "邮箱", "电子邮箱"), pii="email"),
    Target("province", gettext_lazy("Province"), ("province", "省", "省份")),
    Target("city", gettext_lazy("City"), ("city", "城市", "市")),
    Target("product_line", gettext_lazy("Product line"), ("product line", "product_line", "产品线", "意向产品")),
    Target("estimated_amount", gettext_lazy("Estimated amount"), ("estimated amount", "estimated_amount", "amount",
                                                                   "预计金额", "预算")),
    Target("message", gettext_lazy("Message"), ("message", "note", "notes", "留言", "需求", "备注")),
    Target("external_id", gettext_lazy("External id"), ("external id", "external_id", "id", "外部编号")),
), ("external_id",), order=40)


def register_kinds() -> None:
    register(KIND)
