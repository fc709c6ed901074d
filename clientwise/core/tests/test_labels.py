"""The label table (core/labels.py): registration, lookup in the active language, deferred sentences."""

from __future__ import annotations

from django.db import models
from django.template import Context, Template
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from clientwise.core import labels


class Colour(models.TextChoices):
    RED = "red", "Red"
    BLUE = "blue_ish", "Blue"


def test_register_maps_choices_and_pairs():
    labels.register("test.colour", Colour)
    labels.register("test.colour", [("green", "Green")])
    labels.register("test.colour", {"red": "Crimson"})  # a later label replaces an earlier one
    assert labels.label("test.colour", "red") == "Crimson"
    assert labels.label("test.colour", Colour.BLUE) == "Blue"
    assert labels.codes("test.colour") == ["red", "blue_ish", "green"]
    assert labels.choices("test.colour")[1] == ("blue_ish", "Blue")
    assert labels.has_label("test.colour", "green") and not labels.has_label("test.colour", "pink")


def test_unknown_codes_come_back_as_typed_or_as_the_default():
    assert labels.label("test.nothing", "空调清洗") == "空调清洗"
    assert labels.label("test.nothing", None) == ""
    assert labels.label("test.nothing", "x", default="—") == "—"


def test_resolvers_answer_open_ended_kinds():
    labels.register_resolver("test.upper", lambda code: code.upper() if code.startswith("a") else None)
    assert labels.label("test.upper", "abc") == "ABC"
    assert labels.label("test.upper", "xyz") == "xyz"


def test_labels_follow_the_active_language():
    labels.register("test.lazy", {"c": _("Home")})  # translated in core's catalog
    with translation.override("zh-hans"):
        assert labels.label("test.lazy", "c") == "首页"
        assert labels.label_list("test.lazy", "c, ,c") == "首页、首页"
    with translation.override("en"):
        assert labels.label("test.lazy", "c") == "Home"
        assert labels.label_list("test.lazy", ["c", "c"]) == "Home, Home"


def test_template_filters():
    labels.register("test.skill", {"appliances": _("Home")})
    out = Template('{% load cw %}{{ a|label:"test.skill" }}|{{ b|label_list:"test.skill" }}').render(
        Context({"a": "appliances", "b": "appliances,x"}))
    assert out == "Home|Home, x"


def test_deferred_text_is_written_once_and_read_in_the_readers_language():
    labels.register("test.lazy", {"c": _("Home")})
    with translation.override("zh-hans"):
        text = labels.deferred("%(kind)s list", kind=labels.ref("test.lazy", "c"))
    assert str(text) == "首页 list"  # no zh msgstr for the msgid: the label inside is still translated
    stored = text.stored()
    assert stored == {"msgid": "%(kind)s list", "params": {"kind": {"$label": ["test.lazy", "c"]}}}
    with translation.override("en"):
        assert labels.render_deferred(stored) == "Home list"
    assert labels.render_deferred(None, fallback="as written") == "as written"
    assert labels.render_deferred({"msgid": "%(missing)s"}, fallback="x") == "%(missing)s"
