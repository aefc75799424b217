"""Rendering as SES does it: a table of (template, data, expected), SES's documented examples first."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openses.core.templates import (
    MissingAttributeError,
    TemplateSyntaxError,
    escape_html,
    parse,
    render,
    render_source,
)

# SES developer guide, "Advanced email personalization": one recipient's data.
ANAYA = {
    "meta": {"userId": "51806220607"},
    "contact": {"firstName": "Anaya", "lastName": "Iyengar", "city": "Bengaluru", "country": "India",
                "postalCode": "560052"},
    "subscription": [{"interest": "Sports"}, {"interest": "Travel"}, {"interest": "Cooking"}],
}

CASES: list[tuple[str, str, Any, str]] = [
    # --- SES's documented examples ---
    ("ses: simple replacement", "Hello, {{name}}!", {"name": "Alejandro", "favoriteanimal": "alligator"},
     "Hello, Alejandro!"),
    ("ses: extra data is ignored", "Dear {{name}},\r\nYour favorite animal is {{favoriteanimal}}.",
     {"name": "Alejandro", "favoriteanimal": "alligator", "unused": 1},
     "Dear Alejandro,\r\nYour favorite animal is alligator."),
    ("ses: nested attributes", "Hello {{contact.firstName}}!", ANAYA, "Hello Anaya!"),
    ("ses: nested several levels", "{{meta.userId}} in {{contact.city}}, {{contact.country}}", ANAYA,
     "51806220607 in Bengaluru, India"),
    ("ses: iterating through lists",
     "<p>You have expressed interest in the following topics:</p><ul>{{#each subscription}}"
     "<li>{{interest}}</li>{{/each}}</ul>", ANAYA,
     "<p>You have expressed interest in the following topics:</p><ul><li>Sports</li><li>Travel</li>"
     "<li>Cooking</li></ul>"),
    ("ses: conditional with data", "{{#if subscription}}<p>Topics follow</p>{{else}}<p>No topics</p>{{/if}}",
     ANAYA, "<p>Topics follow</p>"),
    ("ses: conditional without data", "{{#if subscription}}<p>Topics follow</p>{{else}}<p>No topics</p>{{/if}}",
     {"contact": {}}, "<p>No topics</p>"),
    ("ses: inline partial", '{{#* inline "myPartial"}}Hello {{firstName}}{{/inline}}{{> myPartial}}!',
     {"firstName": "Jane"}, "Hello Jane!"),
    # --- variables and escaping ---
    ("double braces escape HTML", "{{x}}", {"x": "<b>Tom & \"Jerry\"</b> 'x' `y` a=b"},
     "&lt;b&gt;Tom &amp; &quot;Jerry&quot;&lt;/b&gt; &#x27;x&#x27; &#x60;y&#x60; a&#x3D;b"),
    ("triple braces are raw", "{{{x}}}", {"x": "<b>bold</b> & co"}, "<b>bold</b> & co"),
    ("ampersand is raw", "{{& x}}", {"x": "<i>"}, "<i>"),
    ("spaces inside braces", "{{ name }}", {"name": "Ann"}, "Ann"),
    ("numbers print as JavaScript does", "{{a}} {{b}} {{c}}", {"a": 3, "b": 2.5, "c": 4.0}, "3 2.5 4"),
    ("booleans and null", "[{{t}}][{{f}}][{{n}}]", {"t": True, "f": False, "n": None}, "[true][false][]"),
    ("a list prints comma-separated", "{{xs}}", {"xs": [1, "a"]}, "1,a"),
    ("slash paths", "{{contact/firstName}}", ANAYA, "Anaya"),
    ("bracketed segment", "{{[first name]}}", {"first name": "Bo"}, "Bo"),
    ("array index", "{{subscription.1.interest}}", ANAYA, "Travel"),
    ("unicode", "Grüße, {{n}} ✓", {"n": "Zoë"}, "Grüße, Zoë ✓"),
    ("escaped mustache is literal", "\\{{name}} is {{name}}", {"name": "x"}, "{{name}} is x"),
    ("comments vanish", "a{{! note }}b{{!-- has }} inside --}}c", {}, "abc"),
    # --- each ---
    ("each with this and @index", "{{#each xs}}{{@index}}={{this}};{{/each}}", {"xs": ["a", "b"]}, "0=a;1=b;"),
    ("each @first and @last", "{{#each xs}}{{#if @first}}[{{/if}}{{.}}{{#if @last}}]{{else}},{{/if}}{{/each}}",
     {"xs": [1, 2, 3]}, "[1,2,3]"),
    ("each over an object gives @key", "{{#each o}}{{@key}}:{{this}} {{/each}}", {"o": {"a": 1, "b": 2}},
     "a:1 b:2 "),
    ("each else on empty list", "{{#each xs}}x{{else}}none{{/each}}", {"xs": []}, "none"),
    ("each else on missing list", "{{#each xs}}x{{else}}none{{/each}}", {}, "none"),
    ("parent context with ../", "{{#each xs}}{{../greeting}} {{this}}. {{/each}}",
     {"greeting": "Hi", "xs": ["A", "B"]}, "Hi A. Hi B. "),
    ("names fall back to the enclosing context", "{{#each xs}}{{name}}:{{id}} {{/each}}",
     {"name": "shop", "xs": [{"id": 1}, {"id": 2}]}, "shop:1 shop:2 "),
    ("@root reaches the top", "{{#each xs}}{{@root.n}}{{/each}}", {"n": "r", "xs": [1, 2]}, "rr"),
    ("nested each", "{{#each rows}}{{#each this}}{{this}}{{/each}}|{{/each}}", {"rows": [[1, 2], [3]]}, "12|3|"),
    # --- if / unless / with ---
    ("if zero is false", "{{#if n}}yes{{else}}no{{/if}}", {"n": 0}, "no"),
    ("if empty string is false", "{{#if s}}yes{{else}}no{{/if}}", {"s": ""}, "no"),
    ("if empty object is true", "{{#if o}}yes{{else}}no{{/if}}", {"o": {}}, "yes"),
    ("else if chain", "{{#if a}}A{{else if b}}B{{else}}C{{/if}}", {"a": False, "b": True}, "B"),
    ("else if chain falls through", "{{#if a}}A{{else if b}}B{{else}}C{{/if}}", {}, "C"),
    ("unless", "{{#unless vip}}regular{{else}}vip{{/unless}}", {"vip": False}, "regular"),
    ("caret else", "{{#if x}}y{{^}}n{{/if}}", {}, "n"),
    ("inverted section", "{{^items}}empty{{/items}}", {"items": []}, "empty"),
    ("with changes context", "{{#with contact}}{{firstName}} {{lastName}}{{/with}}", ANAYA, "Anaya Iyengar"),
    ("mustache section over a list", "{{#xs}}<{{v}}>{{/xs}}", {"xs": [{"v": 1}, {"v": 2}]}, "<1><2>"),
    # --- whitespace ---
    ("standalone block lines disappear", "<ul>\n  {{#each xs}}\n  <li>{{this}}</li>\n  {{/each}}\n</ul>",
     {"xs": ["a", "b"]}, "<ul>\n  <li>a</li>\n  <li>b</li>\n</ul>"),
    ("standalone with CRLF", "A\r\n{{#if x}}\r\nB\r\n{{/if}}\r\nC", {"x": 1}, "A\r\nB\r\nC"),
    ("tilde strips whitespace", "a   {{~x~}}   b", {"x": "-"}, "a-b"),
    ("inline tags keep their line", "Hi {{#if x}}there{{/if}}\n", {"x": 1}, "Hi there\n"),
]


@pytest.mark.parametrize("template, data, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_template_renders_as_ses_does(template: str, data: Any, expected: str) -> None:
    assert render_source(template, data) == expected


@pytest.mark.parametrize("template, data, missing", [
    ("Hello {{name}}", {}, "name"),
    ("{{contact.middleName}}", ANAYA, "contact.middleName"),
    ("{{#each subscription}}{{topic}}{{/each}}", ANAYA, "topic"),
    ("{{{raw}}}", {"other": 1}, "raw"),
    ("{{this.name}}", {"x": {"name": 1}}, "this.name"),
])
def test_a_variable_missing_from_the_data_fails_the_rendering(template: str, data: Any, missing: str) -> None:
    with pytest.raises(MissingAttributeError) as err:
        render_source(template, data)
    assert err.value.message == f"Attribute '{missing}' is not present in the rendering data."


def test_a_missing_variable_inside_a_false_branch_is_not_an_error() -> None:
    assert render_source("{{#if vip}}{{vipCode}}{{/if}}ok", {}) == "ok"


@pytest.mark.parametrize("template", [
    "{{#if x}}unclosed",
    "{{#each xs}}a{{/if}}",
    "stray {{/if}}",
    "{{name",
    "{{#if}}x{{/if}}",
    "{{#if a}}1{{else}}2{{else}}3{{/if}}",
    "{{lookup a b}}",
    "{{#each xs as |x|}}{{x}}{{/each}}",
    "{{#custom a}}x{{/custom}}",
    "{{> missing}}",
])
def test_malformed_or_unsupported_templates_are_syntax_errors(template: str) -> None:
    with pytest.raises(TemplateSyntaxError):
        render(parse(template), {"a": 1, "b": 2, "x": 1, "xs": [1]})


def test_a_template_parses_once_and_renders_many_times() -> None:
    template = parse("Hi {{n}}")
    assert [render(template, {"n": n}) for n in ("a", "b")] == ["Hi a", "Hi b"]


@given(st.text())
def test_text_without_braces_renders_unchanged(text: str) -> None:
    text = text.replace("{", "").replace("\\", "")
    assert render_source(text, {}) == text


@given(st.text())
def test_escaped_output_never_contains_markup_characters(text: str) -> None:
    out = escape_html(text)
    assert not any(c in out for c in "<>\"'`=")
    assert render_source("{{v}}", {"v": text}) == out


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=60))
def test_the_parser_answers_any_input_with_a_template_or_a_syntax_error(source: str) -> None:
    try:
        parse(source)
    except TemplateSyntaxError:
        pass
