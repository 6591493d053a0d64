"""The template's DynamoDB tables, made in moto when the local engine starts, as CloudFormation would.

Each ``AWS::DynamoDB::Table`` gets its key schema, attribute definitions, billing mode and its
time-to-live attribute (moto records the setting; it never removes items, so a local item simply
outlives its TTL). The name is what :meth:`TemplateResolver.table_name` gives, so ``!Ref`` in a
function's environment and ``!GetAtt ...Arn`` in its policy name this table.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

from local.template import REGION, TABLE_TYPE, TemplateResolver

__all__ = ["TABLE_TYPE", "create_tables", "make_item_writes_atomic", "table_names"]

_WRITE_LOCK = threading.RLock()


def make_item_writes_atomic() -> None:
    """DynamoDB applies a conditional write to an item atomically and answers with that write's
    values; moto checks the condition, writes, and reads the values it answers with, all without
    a lock, so two threads of the local stack could both pass a condition only one may pass, or
    read each other's value (two callers handed one slot of the call schedule, or two reconcilers
    both claiming one announcement). One lock around each item write request restores the
    guarantee. Process-wide and idempotent.
    """
    from moto.dynamodb.responses import DynamoHandler

    if getattr(DynamoHandler, "_local_atomic_writes", False):
        return
    for name in ("put_item", "update_item", "delete_item"):
        original = getattr(DynamoHandler, name)

        def locked(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            with _WRITE_LOCK:
                return _original(self, *args, **kwargs)

        setattr(DynamoHandler, name, functools.wraps(original)(locked))
    DynamoHandler._local_atomic_writes = True


def table_names(resolver: TemplateResolver) -> dict[str, str]:
    """Logical id -> the table's name."""
    return {logical_id: resolver.table_name(logical_id) for logical_id in resolver.logical_ids((TABLE_TYPE,))}


def create_tables(resolver: TemplateResolver, client: Any = None) -> list[str]:
    """Create every ``AWS::DynamoDB::Table`` of the template (moto must be active); their names."""
    import boto3

    make_item_writes_atomic()
    dynamodb = client or boto3.client("dynamodb", region_name=REGION)
    for logical_id, name in table_names(resolver).items():
        properties = resolver.resolve(resolver.resources[logical_id].get("Properties") or {})
        shape = {key: properties[key] for key in ("KeySchema", "AttributeDefinitions") if key in properties}
        dynamodb.create_table(
            TableName=name, BillingMode=properties.get("BillingMode", "PAY_PER_REQUEST"), **shape
        )
        ttl = properties.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            dynamodb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
            )
    return list(table_names(resolver).values())
