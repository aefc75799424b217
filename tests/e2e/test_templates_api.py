"""Email templates through boto3 (SES v1 and v2) against a real server: CRUD, paging, test rendering."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

GREETING = {"TemplateName": "Greeting", "SubjectPart": "Greetings, {{name}}!",
            "TextPart": "Dear {{name}},\r\nYour favorite animal is {{favoriteanimal}}.",
            "HtmlPart": "<h1>Hello {{name}},</h1><p>Your favorite animal is {{favoriteanimal}}.</p>"}
DATA = json.dumps({"name": "Alejandro", "favoriteanimal": "alligator"})


def code(err: pytest.ExceptionInfo[ClientError]) -> str:
    return str(err.value.response["Error"]["Code"])


def test_v1_template_round_trip_create_get_update_list_delete(server):
    ses = server.client("ses", server.new_account("acme"))
    ses.create_template(Template=GREETING)
    assert ses.get_template(TemplateName="Greeting")["Template"] == GREETING
    ses.update_template(Template={**GREETING, "SubjectPart": "Hi {{name}}"})
    assert ses.get_template(TemplateName="Greeting")["Template"]["SubjectPart"] == "Hi {{name}}"
    listed = ses.list_templates()["TemplatesMetadata"]
    assert [t["Name"] for t in listed] == ["Greeting"] and listed[0]["CreatedTimestamp"]
    ses.delete_template(TemplateName="Greeting")
    assert ses.list_templates()["TemplatesMetadata"] == []
    ses.delete_template(TemplateName="Greeting")  # SES v1: deleting what is gone is not an error


def test_v1_errors_name_the_ses_codes(server):
    ses = server.client("ses", server.new_account("acme"))
    ses.create_template(Template=GREETING)
    with pytest.raises(ses.exceptions.AlreadyExistsException):
        ses.create_template(Template=GREETING)
    with pytest.raises(ses.exceptions.TemplateDoesNotExistException):
        ses.get_template(TemplateName="Nope")
    with pytest.raises(ses.exceptions.TemplateDoesNotExistException):
        ses.update_template(Template={**GREETING, "TemplateName": "Nope"})
    with pytest.raises(ses.exceptions.InvalidTemplateException):
        ses.create_template(Template={"TemplateName": "Broken", "SubjectPart": "{{#if x}}never closed"})


def test_v1_test_render_fills_the_template_and_reports_missing_data(server):
    ses = server.client("ses", server.new_account("acme"))
    ses.create_template(Template=GREETING)
    rendered = ses.test_render_template(TemplateName="Greeting", TemplateData=DATA)["RenderedTemplate"]
    assert "Subject: Greetings, Alejandro!" in rendered
    assert "Your favorite animal is alligator." in rendered
    assert "<h1>Hello Alejandro,</h1>" in rendered
    with pytest.raises(ses.exceptions.MissingRenderingAttributeException) as err:
        ses.test_render_template(TemplateName="Greeting", TemplateData=json.dumps({"name": "A"}))
    assert "favoriteanimal" in err.value.response["Error"]["Message"]
    with pytest.raises(ses.exceptions.InvalidRenderingParameterException):
        ses.test_render_template(TemplateName="Greeting", TemplateData="{not json")
    with pytest.raises(ses.exceptions.TemplateDoesNotExistException):
        ses.test_render_template(TemplateName="Nope", TemplateData=DATA)


def test_v1_list_templates_pages_with_next_token(server):
    ses = server.client("ses", server.new_account("acme"))
    for i in range(5):
        ses.create_template(Template={"TemplateName": f"t{i}", "SubjectPart": "s"})
    first = ses.list_templates(MaxItems=2)
    assert [t["Name"] for t in first["TemplatesMetadata"]] == ["t0", "t1"]
    rest = ses.list_templates(MaxItems=10, NextToken=first["NextToken"])
    assert [t["Name"] for t in rest["TemplatesMetadata"]] == ["t2", "t3", "t4"]
    assert "NextToken" not in rest


def test_templates_of_one_account_are_invisible_to_another(server):
    a = server.client("ses", server.new_account("a"))
    b = server.client("ses", server.new_account("b"))
    a.create_template(Template=GREETING)
    with pytest.raises(ClientError):
        b.get_template(TemplateName="Greeting")
    b.create_template(Template=GREETING)  # the same name in another account is fine


def test_v2_email_template_round_trip_and_not_found(server):
    v2 = server.client("sesv2", server.new_account("acme"))
    content = {"Subject": "Hi {{name}}", "Text": "Hello {{name}}", "Html": "<p>{{name}}</p>"}
    v2.create_email_template(TemplateName="Welcome", TemplateContent=content)
    got = v2.get_email_template(TemplateName="Welcome")
    assert got["TemplateName"] == "Welcome" and got["TemplateContent"] == content
    v2.update_email_template(TemplateName="Welcome", TemplateContent={**content, "Subject": "Yo {{name}}"})
    assert v2.get_email_template(TemplateName="Welcome")["TemplateContent"]["Subject"] == "Yo {{name}}"
    names = [t["TemplateName"] for t in v2.list_email_templates()["TemplatesMetadata"]]
    assert names == ["Welcome"]
    with pytest.raises(v2.exceptions.AlreadyExistsException):
        v2.create_email_template(TemplateName="Welcome", TemplateContent=content)
    v2.delete_email_template(TemplateName="Welcome")
    with pytest.raises(v2.exceptions.NotFoundException):
        v2.get_email_template(TemplateName="Welcome")
    with pytest.raises(v2.exceptions.NotFoundException):
        v2.delete_email_template(TemplateName="Welcome")


def test_v2_test_render_uses_handlebars_blocks_and_escaping(server):
    v2 = server.client("sesv2", server.new_account("acme"))
    v2.create_email_template(TemplateName="Topics", TemplateContent={
        "Subject": "For {{contact.firstName}}",
        "Html": "<ul>{{#each subscription}}<li>{{interest}}</li>{{/each}}</ul>{{#if vip}}VIP{{else}}regular{{/if}}"
                " {{note}} {{{raw}}}"})
    data = {"contact": {"firstName": "Anaya"}, "subscription": [{"interest": "Sports"}, {"interest": "Travel"}],
            "note": "a<b", "raw": "<i>x</i>"}
    rendered = v2.test_render_email_template(TemplateName="Topics", TemplateData=json.dumps(data))["RenderedTemplate"]
    assert "Subject: For Anaya" in rendered
    assert "<ul><li>Sports</li><li>Travel</li></ul>regular a&lt;b <i>x</i>" in rendered
    with pytest.raises(v2.exceptions.BadRequestException):
        v2.test_render_email_template(TemplateName="Topics", TemplateData="{}")
    with pytest.raises(v2.exceptions.NotFoundException):
        v2.test_render_email_template(TemplateName="Nope", TemplateData="{}")


def test_aws_cli_creates_and_renders_a_template(server):
    creds = server.new_account("acme")
    server.aws(creds, "ses", "create-template", "--template", json.dumps(GREETING))
    out = json.loads(server.aws(creds, "ses", "test-render-template", "--template-name", "Greeting",
                                "--template-data", DATA).stdout)
    assert "Greetings, Alejandro!" in out["RenderedTemplate"]
