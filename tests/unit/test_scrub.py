"""One scrub for every output; one validity rule for what is stored (issue 18 points 3 and 9)."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st
from jinja2 import Environment
from lxml import etree
from markupsafe import Markup

from erepwatch.scrub import finalize, scrub, valid_optional, valid_text

HOSTILE = "a\x00b\x01c\x07d\x08e\x1bf\x7fg\x85h\ud800i\ufffej"


def test_scrub_drops_what_no_output_may_carry_and_keeps_layout():
    assert scrub(HOSTILE) == "abcdefghij"
    assert scrub("tab\tline\nreturn\r é ✓ 𝄞") == "tab\tline\nreturn\r é ✓ 𝄞"


def xml_line_ends(text: str) -> str:
    """What an XML parser reads back for ``text``: CR LF and a lone CR both end a line as LF (XML 1.0, 2.11)."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def test_xml_line_ends_are_the_parsers():
    assert etree.fromstring(b"<t>a\r\nb\rc\r\r\nd</t>").text == xml_line_ends("a\r\nb\rc\r\r\nd")


@given(st.text())
@example("\r\n")  # one line end for the parser, two for a naive \r -> \n (found by hypothesis, session 11)
@example("\r\x00\n")  # the same once the scrub has dropped what sat between them
def test_scrubbed_text_is_always_well_formed_xml(text):
    document = f"<t>{Environment(autoescape=True, finalize=finalize).from_string('{{ v }}').render(v=text)}</t>"
    assert etree.fromstring(document.encode("utf-8", "surrogatepass")).text in (None, xml_line_ends(scrub(text)))


def test_finalize_keeps_markup_and_other_values():
    env = Environment(autoescape=True, finalize=finalize)
    out = env.from_string("{{ a }}|{{ b }}|{{ n }}").render(a="x\x1b<y>", b=Markup("<b>\x07</b>"), n=3)
    assert out == "x&lt;y&gt;|<b></b>|3"


def test_valid_text_for_storage():
    assert valid_text("a\x00b\ud800c") == "ab\ufffdc"
    assert valid_text("\x1b kept for storage") == "\x1b kept for storage"
    assert valid_optional("x" * 600, 500) == "x" * 500
    assert valid_optional("\x00", 10) is None and valid_optional(None, 10) is None


@given(st.text())
def test_valid_text_is_always_encodable(text):
    assert "\x00" not in valid_text(text)
    valid_text(text).encode("utf-8")


@given(st.text(st.one_of(st.characters(), st.sampled_from(["\x00", "\ud800", "\udfff", "\ud83d", "é", "\u2019"]))))
def test_valid_text_is_the_rule_whatever_the_shortcut(text):
    # valid_text tells a valid text without the pattern (by encoding it): the result is the pattern's rule.
    expected = "".join("" if c == "\x00" else "\ufffd" if "\ud800" <= c <= "\udfff" else c for c in text)
    assert valid_text(text) == expected
