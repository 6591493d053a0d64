"""The template's DynamoDB tables, created in moto as CloudFormation would create them.

Each ``AWS::DynamoDB::Table`` gets its key schema, attribute definitions and billing mode, and
its time-to-live attribute (moto records the setting; it never removes items, so a local marker
simply outlives its TTL). A table's physical name is its ``TableName``, else its logical id:
what ``!Ref`` resolves to locally (:class:`local.template.TemplateResolver`).
"""

from __future__ import annotations

from typing import Any

from local.template import REGION, TemplateResolver, cfn_string

__all__ = ["TABLE_TYPE", "create_tables", "table_names"]

TABLE_TYPE = "AWS::DynamoDB::Table"
_CREATE_PROPERTIES = ("AttributeDefinitions", "KeySchema", "BillingMode")


def table_names(resolver: TemplateResolver) -> dict[str, str]:
    """Logical id -> the table's name."""
    names = {}
    for logical_id in resolver.logical_ids({TABLE_TYPE}):
        properties = resolver.resources[logical_id].get("Properties") or {}
        name = properties.get("TableName")
        names[logical_id] = cfn_string(resolver.resolve(name)) if name is not None else logical_id
    return names


def create_tables(resolver: TemplateResolver, client: Any = None) -> list[str]:
    """Creates every table of the template in the running mock; returns their names."""
    if client is None:
        import boto3

        client = boto3.client("dynamodb", region_name=REGION)
    for logical_id, name in table_names(resolver).items():
        properties = resolver.resolve(resolver.resources[logical_id].get("Properties") or {})
        client.create_table(
            TableName=name, **{key: properties[key] for key in _CREATE_PROPERTIES if key in properties}
        )
        ttl = properties.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            client.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
            )
    return list(table_names(resolver).values())
