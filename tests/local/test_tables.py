"""The template's DynamoDB tables as the local stack creates them, and how IAM names them."""

from __future__ import annotations

import boto3
from moto import mock_aws

from local.engine import ACCOUNT_ID, DEFAULT_TEMPLATE, REGION, TemplateResolver, load_template
from local.iam.gate import resources_for
from local.tables import create_tables, table_names


def test_each_table_is_created_as_the_template_declares_it():
    resolver = TemplateResolver(load_template(DEFAULT_TEMPLATE))
    declared = resolver.resources["AnnouncementsTable"]["Properties"]
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        assert sorted(create_tables(resolver, client)) == ["AnnouncementsTable", "CallScheduleTable"]
        table = client.describe_table(TableName="AnnouncementsTable")["Table"]
        assert table["KeySchema"] == declared["KeySchema"]
        assert table["AttributeDefinitions"] == declared["AttributeDefinitions"]
        assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
        ttl = client.describe_time_to_live(TableName="AnnouncementsTable")["TimeToLiveDescription"]
        assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "expiresAt")


def test_a_tables_name_is_its_table_name_else_its_logical_id():
    template = {
        "Resources": {
            "Plain": {"Type": "AWS::DynamoDB::Table", "Properties": {}},
            "Named": {
                "Type": "AWS::DynamoDB::Table",
                "Properties": {"TableName": {"Fn::Sub": "${AWS::StackName}-t"}},
            },
        }
    }
    assert table_names(TemplateResolver(template, stack_name="s")) == {"Plain": "Plain", "Named": "s-t"}


def test_a_dynamodb_call_is_decided_on_its_tables_arn():
    assert resources_for("dynamodb", "GetItem", {"TableName": "AnnouncementsTable"}, REGION, ACCOUNT_ID) == [
        f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/AnnouncementsTable"
    ]
    arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/Other"
    assert resources_for("dynamodb", "PutItem", {"TableName": arn}, REGION, ACCOUNT_ID) == [arn]
