"""Every handler answers an operation the SES models define, and none is registered twice."""

import botocore.session

from openses.api import registry


def test_every_registered_operation_exists_in_its_botocore_model():
    registry.load_all()
    session = botocore.session.get_session()
    names = {svc: set(session.get_service_model(svc).operation_names) for svc in ("ses", "sesv2", "sts", "sns")}
    unknown = [(svc, op) for svc, op in registry.implemented() if op not in names[svc]]
    assert unknown == []


def test_the_sending_operations_check_their_own_policy_with_the_identity_as_resource():
    registry.load_all()
    assert {("ses", "SendEmail"), ("ses", "SendRawEmail"), ("sesv2", "SendEmail")} <= registry.SELF_AUTHORIZING
