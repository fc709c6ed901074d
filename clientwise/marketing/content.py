"""Message content with personal fields, rendered safely: Django's template language on a sandboxed engine (no
template loaders, no tag libraries to load, no autoescape for plain-text channels) over a context of plain strings
only (`FIELDS`), so a template can neither reach a model's attributes and methods nor read a file.

    尊敬的{{ name }}，您是我们的{{ tier }}会员。为您推荐：{{ product }}。

A template is checked when it is saved (`check`): a syntax error, a tag outside the allowed set or a field that
is not in FIELDS is refused with the code invalid_template, so a campaign never launches with a text that renders
badly for a million customers.
"""

from __future__ import annotations

import re

from django.template import Context, Engine, TemplateSyntaxError
from django.template.base import Node, VariableNode
from django.utils.translation import gettext as _

from clientwise.core.errors import DomainError
from clientwise.marketing.errors import MarketingErrorCode

# Personal fields a text may use, and what each holds (docs/marketing.md).
FIELDS = ("name", "city", "tier", "segment", "product", "due_item", "owner", "member_number")
ALLOWED_TAGS = {"if", "elif", "else", "endif", "firstof", "now", "spaceless", "endspaceless", "comment",
                "endcomment", "verbatim", "endverbatim", "templatetag", "with", "endwith"}

ENGINE = Engine(dirs=[], app_dirs=False, loaders=[("django.template.loaders.locmem.Loader", {})], libraries={},
                autoescape=False, string_if_invalid="", debug=False)


def _walk(nodes) -> list[Node]:
    out = []
    for node in nodes:
        out.append(node)
        for attr in getattr(node, "child_nodelists", ()):
            out.extend(_walk(getattr(node, attr, None) or []))
    return out


def _compile(text: str):
    for token in _tags(text):
        if token not in ALLOWED_TAGS:
            raise DomainError(MarketingErrorCode.INVALID_TEMPLATE, _("The tag “%(tag)s” is not allowed in message "
                                                                      "text.") % {"tag": token})
    try:
        return ENGINE.from_string(text)
    except TemplateSyntaxError as exc:
        raise DomainError(MarketingErrorCode.INVALID_TEMPLATE, _("The text does not render: %(error)s")
                          % {"error": exc}) from None


def _tags(text: str) -> list[str]:
    return [m.group(1) for m in re.finditer(r"{%-?\s*(\w+)", text)]


def check(text: str, field: str) -> None:
    """Raise invalid_template (with `field`) unless the text compiles and uses only FIELDS."""
    try:
        template = _compile(text or "")
    except DomainError as exc:
        exc.field = field
        raise
    for node in _walk(template.nodelist):
        if isinstance(node, VariableNode):
            var = node.filter_expression.var
            lookups = getattr(var, "lookups", None)
            if lookups and (lookups[0] not in FIELDS or len(lookups) > 1):
                raise DomainError(MarketingErrorCode.INVALID_TEMPLATE,
                                  _("Unknown personal field “%(name)s”; use one of: %(fields)s.")
                                  % {"name": ".".join(lookups), "fields": ", ".join(FIELDS)}, field)


def render(text: str, values: dict[str, str]) -> str:
    """The text for one customer: `values` are plain strings (missing fields render empty)."""
    context = {k: str(values.get(k) or "") for k in FIELDS}
    return _compile(text or "").render(Context(context, autoescape=False)).strip()
