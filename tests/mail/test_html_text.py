"""HTML bodies read as text, one forward pass, however broken the markup."""
from __future__ import annotations

from connector.mail.html_text import html_to_text


def test_blocks_entities_and_skipped_elements():
    html = ("<HTML><Head><Title>t</Title><STYLE>p{}</style></HEAD><body><P>Hello &amp; welcome</P>"
            "<div>Line&nbsp;two<br/>three</div><script type=x>if (a<b) {}</SCRIPT>end</body></html>")
    assert html_to_text(html) == "Hello & welcome\n\nLine two\nthree\nend"


def test_a_quoted_attribute_may_hold_a_closing_bracket():
    assert html_to_text('<img alt="a > b" src=x>after <a title=\'>\'>link</a>') == "after link"


def test_a_bracket_that_opens_no_tag_is_text():
    assert html_to_text("if a < b and c > d") == "if a < b and c > d"
    assert html_to_text("x <3 y") == "x <3 y"


def test_unterminated_markup():
    assert html_to_text("<p>kept</p><!-- the rest <p>is hidden") == "kept"
    assert html_to_text("<p>kept</p><a href='x' never closed") == "kept\n<a href='x' never closed"
    assert html_to_text("<p>kept</p><script>all of this is code") == "kept"


def test_a_head_without_its_end_tag_ends_where_the_body_starts():
    assert html_to_text("<head><title>t</title><body><p>Hello</p>") == "Hello"


def test_declarations_comments_and_office_conditionals_say_nothing():
    html = ("<!DOCTYPE html><?xml version='1.0'?><!--[if mso]><x><![endif]--><![if !supportLists]>"
            "1.<![endif]> item")
    assert html_to_text(html) == "1. item"


def test_a_numeric_entity_of_thousands_of_digits_is_no_character():
    # html.unescape raises ValueError on one over 4,300 digits.
    assert html_to_text("<p>a &#" + "9" * 5000 + "; b</p>") == "a \ufffd b"
