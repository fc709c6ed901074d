"""Target fields of each import kind, and a column mapping suggested from Chinese or English headers.

A mapping is `{target field: column header}`. Headers are compared after folding case, spaces, underscores,
hyphens and brackets, so "Mobile Phone", "mobile_phone" and "手机（必填）" all match their synonyms.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Target:
    name: str
    label: object
    synonyms: tuple[str, ...] = ()
    required: bool = False
    pii: str = ""  # masking kind for users without view_pii: mobile, email, id_number


CUSTOMER_REF = (
    Target("customer_external_id", _("Customer external id"),
           ("customer external id", "customer id", "customer_ref", "客户编号", "客户编码", "客户id", "客户外部编号")),
    Target("customer_member_number", _("Customer member number"),
           ("member number", "member no", "会员号", "会员编号", "会员卡号", "卡号")),
    Target("customer_mobile", _("Customer mobile"),
           ("mobile", "phone", "手机", "手机号", "手机号码", "电话", "联系电话"), pii="mobile"),
)

TARGETS: dict[str, tuple[Target, ...]] = {
    "customers": (
        Target("external_id", _("External id"), ("external id", "id", "customer id", "客户编号", "客户编码", "客户id",
                                                  "编号", "外部编号")),
        Target("name", _("Name"), ("name", "full name", "customer name", "customer", "姓名", "客户名称", "客户姓名",
                                   "名称", "客户"), required=True),
        Target("mobile", _("Mobile"), ("mobile", "mobile phone", "cell", "phone", "phone number", "tel", "手机",
                                       "手机号", "手机号码", "移动电话", "电话", "联系电话"), pii="mobile"),
        Target("email", _("Email"), ("email", "e-mail", "mail", "email address", "邮箱", "电子邮箱", "电子邮件",
                                     "邮件"), pii="email"),
        Target("member_number", _("Member number"), ("member number", "member no", "membership number", "会员号",
                                                     "会员编号", "会员卡号", "卡号")),
        Target("gender", _("Gender"), ("gender", "sex", "性别")),
        Target("birth_date", _("Birth date"), ("birth date", "birthday", "date of birth", "dob", "生日",
                                               "出生日期", "出生年月日")),
        Target("province", _("Province"), ("province", "state", "省", "省份")),
        Target("city", _("City"), ("city", "市", "城市")),
        Target("address", _("Street address"), ("address", "street address", "street", "address line", "地址",
                                                 "详细地址", "街道地址", "通讯地址", "联系地址")),
        Target("postal_code", _("Postcode"), ("postcode", "postal code", "post code", "zip", "zip code", "邮编",
                                              "邮政编码")),
        Target("occupation", _("Occupation"), ("occupation", "job", "职业")),
        Target("id_number", _("ID number"), ("id number", "id card", "身份证", "身份证号", "证件号码"),
               pii="id_number"),
        Target("status", _("Status"), ("status", "状态", "客户状态")),
        Target("notes", _("Notes"), ("notes", "note", "remarks", "comment", "备注")),
        Target("customer_since", _("Customer since"), (
            "customer since", "member since", "registered", "registered at", "registered on", "registration date",
            "registration time", "signup date", "sign up date", "signed up", "join date", "joined", "joined on",
            "first seen", "注册时间", "注册日期", "入会日期", "入会时间", "开卡日期", "开卡时间", "办卡日期",
            "成为会员日期", "首次到店日期")),
        Target("source_created_at", _("Created in source"), (
            "created at", "created", "created on", "creation time", "create time", "date created", "创建时间",
            "创建日期", "建档时间", "建档日期", "录入时间")),
        Target("source_updated_at", _("Updated in source"), (
            "updated at", "updated", "updated on", "update time", "last updated", "last modified", "modified at",
            "modified", "更新时间", "更新日期", "修改时间", "最后修改时间", "最后更新时间")),
        Target("consent_sms", _("SMS marketing consent"), ("sms consent", "consent sms", "短信同意", "短信营销")),
        Target("consent_email", _("Email marketing consent"), ("email consent", "consent email", "邮件同意",
                                                               "邮件营销")),
        Target("consent_phone", _("Phone marketing consent"), ("phone consent", "consent phone", "电话同意",
                                                               "电话营销")),
        Target("consent_wechat", _("WeChat marketing consent"), ("wechat consent", "consent wechat", "微信同意",
                                                                 "微信营销")),
    ),
    "products": (
        Target("external_id", _("External id"), ("external id", "id", "product id", "商品id", "外部编号")),
        Target("sku", _("SKU"), ("sku", "product code", "item code", "商品编码", "商品代码", "货号", "型号编码"),
               required=True),
        Target("name", _("Name"), ("name", "product name", "product", "商品名称", "品名", "名称", "商品"),
               required=True),
        Target("category", _("Category code"), ("category", "category code", "品类", "类别", "分类", "品类编码")),
        Target("brand", _("Brand"), ("brand", "品牌")),
        Target("model", _("Model"), ("model", "型号")),
        Target("list_price", _("List price"), ("list price", "price", "标价", "零售价", "价格", "单价")),
        Target("unit_cost", _("Unit cost"), ("unit cost", "cost", "成本", "成本价")),
        Target("active", _("Active"), ("active", "on sale", "在售", "启用")),
        Target("unit", _("Unit code"), ("unit", "unit code", "uom", "单位", "计量单位", "单位编码")),
    ),
    "stores": (
        Target("external_id", _("External id"), ("external id", "id", "store id", "门店id", "外部编号")),
        Target("code", _("Store code"), ("code", "store code", "门店编码", "门店代码", "店号"), required=True),
        Target("name", _("Name"), ("name", "store name", "store", "门店名称", "门店", "店名"), required=True),
        Target("branch", _("Branch code"), ("branch", "branch code", "分公司", "分公司编码", "分部")),
        Target("region", _("Region code"), ("region", "region code", "大区", "大区编码", "区域", "区域编码")),
        Target("province", _("Province"), ("province", "省", "省份")),
        Target("city", _("City"), ("city", "市", "城市")),
        Target("district", _("District"), ("district", "区", "区县", "县区")),
        Target("urban_rural", _("Urban or rural"), ("urban rural", "urban or rural", "城乡", "城乡类型")),
        Target("opened_on", _("Opened on"), ("opened on", "open date", "开业日期", "开店日期")),
        Target("active", _("Active"), ("active", "营业中", "启用")),
    ),
    "orders": (
        Target("number", _("Order number"), ("order number", "order no", "order", "order id", "订单号", "订单编号",
                                             "单号", "小票号"), required=True),
        Target("external_id", _("External id"), ("external id", "外部编号")),
        *CUSTOMER_REF,
        Target("store", _("Store code"), ("store", "store code", "门店编码", "门店代码", "店号")),
        Target("channel", _("Channel code"), ("channel", "channel code", "渠道", "渠道编码")),
        Target("ordered_at", _("Ordered at"), ("ordered at", "order date", "order time", "date", "下单时间",
                                               "下单日期", "订单时间", "购买时间", "销售日期", "日期"), required=True),
        Target("sku", _("SKU"), ("sku", "product code", "item code", "商品编码", "商品代码", "货号"), required=True),
        Target("quantity", _("Quantity"), ("quantity", "qty", "数量", "件数"), required=True),
        Target("unit_price", _("Unit price"), ("unit price", "price", "单价", "售价")),
        Target("discount", _("Promotion discount"), ("discount", "promotion discount", "promotion", "折扣", "优惠",
                                                     "折扣金额", "优惠金额", "促销优惠", "促销折扣")),
        Target("coupon_discount", _("Coupon discount"), ("coupon discount", "coupon", "优惠券", "优惠券金额", "券抵扣",
                                                         "用券金额")),
        Target("loyalty_discount", _("Loyalty discount"), ("loyalty discount", "points discount", "积分抵扣",
                                                           "积分抵现", "会员折扣", "会员优惠")),
        Target("manual_discount", _("Manual discount"), ("manual discount", "手工折扣", "人工折扣", "改价优惠",
                                                         "抹零")),
        Target("amount", _("Line amount"), ("amount", "line amount", "total", "金额", "行金额", "实付金额",
                                            "小计")),
        Target("currency", _("Currency"), ("currency", "币种")),
    ),
    "interactions": (
        Target("external_id", _("External id"), ("external id", "id", "外部编号", "记录编号")),
        *CUSTOMER_REF,
        Target("kind", _("Kind"), ("kind", "type", "类型", "方式", "接触方式"), required=True),
        Target("direction", _("Direction"), ("direction", "方向")),
        Target("occurred_at", _("When"), ("occurred at", "date", "time", "when", "时间", "日期", "发生时间"),
               required=True),
        Target("subject", _("Subject"), ("subject", "title", "主题", "标题")),
        Target("body", _("Details"), ("body", "details", "content", "内容", "详情", "反馈内容", "备注")),
    ),
}

# Keys an import may upsert on besides (source, external_id).
NATURAL_KEYS = {
    "customers": ("external_id", "member_number", "mobile"),
    "products": ("sku", "external_id"),
    "stores": ("code", "external_id"),
    "orders": ("number",),
    "interactions": ("external_id",),
}


def targets(kind: str) -> tuple[Target, ...]:
    return TARGETS[kind]


def target_names(kind: str) -> list[str]:
    return [t.name for t in TARGETS[kind]]


def fold(header: str) -> str:
    text = (header or "").strip().lower()
    text = re.sub(r"[（(\[【].*?[）)\]】]", "", text)  # "手机（必填）", "Mobile (required)"
    return re.sub(r"[\s_\-./:：*#]+", "", text)


def suggest_mapping(kind: str, headers: list[str]) -> dict[str, str]:
    """{target: header} for every target with a matching header; each header is used once.

    Exact folded matches of the field name win over synonyms, and earlier synonyms over later ones, so the
    'mobile' column goes to mobile even when 'phone' would also match."""
    folded = {fold(h): h for h in headers}
    used: set[str] = set()
    mapping: dict[str, str] = {}
    candidates: list[tuple[int, int, str, str]] = []
    for order, target in enumerate(TARGETS[kind]):
        names = (target.name, *target.synonyms)
        for rank, name in enumerate(names):
            header = folded.get(fold(name))
            if header is not None:
                candidates.append((rank, order, target.name, header))
    for _rank, _order, name, header in sorted(candidates):
        if name in mapping or header in used:
            continue
        mapping[name] = header
        used.add(header)
    return {t.name: mapping[t.name] for t in TARGETS[kind] if t.name in mapping}


def missing_required(kind: str, mapping: dict[str, str]) -> list[str]:
    missing = [t.name for t in TARGETS[kind] if t.required and not mapping.get(t.name)]
    if kind in ("orders", "interactions") and not any(mapping.get(t.name) for t in CUSTOMER_REF):
        missing.append("customer_external_id")
    return missing


def pii_columns(kind: str, mapping: dict[str, str]) -> dict[str, str]:
    """{column header: masking kind} for mapped PII columns."""
    return {mapping[t.name]: t.pii for t in TARGETS[kind] if t.pii and mapping.get(t.name)}
