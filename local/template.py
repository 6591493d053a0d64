"""``template.yaml`` as the local stack reads it: YAML with CloudFormation's short forms, and a
resolver of intrinsic functions that does what CloudFormation would for a local stack.

Hand-written on purpose, and small: the SAM translator leaves ``Ref``/``Sub``/``If``/... to
CloudFormation (it resolves none of them, and it is not in the product's environment), and
cfn-lint's decoder would do the YAML part only, at ~2 s of imports (sympy, networkx) for every
process that builds an engine.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "ACCOUNT_ID",
    "DEFAULT_STACK_NAME",
    "DEFAULT_TEMPLATE",
    "EVENT_BUS_TYPE",
    "FUNCTION_TYPES",
    "NO_VALUE",
    "PARTITION",
    "QUEUE_TYPE",
    "REGION",
    "REPO_ROOT",
    "STATE_MACHINE_TYPES",
    "TABLE_TYPE",
    "EngineError",
    "TemplateResolver",
    "cfn_string",
    "load_template",
]

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"  # moto's default account
PARTITION = "aws"
DEFAULT_STACK_NAME = "nimble-local"
REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TEMPLATE = REPO_ROOT / "template.yaml"

FUNCTION_TYPES = frozenset({"AWS::Serverless::Function", "AWS::Lambda::Function"})
STATE_MACHINE_TYPES = frozenset({"AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine"})
EVENT_BUS_TYPE = "AWS::Events::EventBus"
QUEUE_TYPE = "AWS::SQS::Queue"
TABLE_TYPE = "AWS::DynamoDB::Table"


class EngineError(RuntimeError):
    """The template, the definition or the engine's set-up is not usable locally."""


class _CfnLoader(yaml.SafeLoader):
    """PyYAML's safe loader plus CloudFormation's short-form tags (``!Ref``, ``!GetAtt``, ...)."""


def _construct_short_form(loader: _CfnLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "Condition":
        return {"Condition": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)  # !GetAtt Resource.Attribute
    return {f"Fn::{suffix}": value}


_CfnLoader.add_multi_constructor("!", _construct_short_form)


def load_template(path: str | Path) -> dict[str, Any]:
    """A CloudFormation/SAM YAML template as plain data; short-form tags become long form."""
    with open(path, encoding="utf-8") as stream:
        template = yaml.load(stream, Loader=_CfnLoader)  # noqa: S506 - a SafeLoader subclass
    if not isinstance(template, dict) or not isinstance(template.get("Resources"), dict):
        raise EngineError(f"{path}: not a CloudFormation template (no Resources)")
    return template


class _NoValue:
    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE: Any = _NoValue()


def cfn_string(value: Any) -> str:
    """How CloudFormation writes a scalar where a string is expected."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class TemplateResolver:
    """Resolves intrinsic functions the way CloudFormation would, for a local stack.

    Physical ids: a function's name is its logical id (its ARN
    ``arn:aws:lambda:us-east-1:123456789012:function:<LogicalId>``), an event bus is its
    ``Name``, a state machine's ``Ref`` is its ARN and its name its ``Name`` property.
    """

    def __init__(
        self,
        template: Mapping[str, Any],
        parameter_overrides: Mapping[str, Any] | None = None,
        *,
        stack_name: str = DEFAULT_STACK_NAME,
        region: str = REGION,
        account_id: str = ACCOUNT_ID,
    ) -> None:
        self.template = template
        self.resources: dict[str, Any] = dict(template.get("Resources") or {})
        self.stack_name = stack_name
        self.region = region
        self.account_id = account_id
        self.parameters = self._parameters(dict(parameter_overrides or {}))
        self._conditions: dict[str, bool] = {}

    # ----- parameters and conditions ----------------------------------------------------------

    def _parameters(self, overrides: dict[str, Any]) -> dict[str, str]:
        declared: dict[str, Any] = dict(self.template.get("Parameters") or {})
        unknown = sorted(set(overrides) - set(declared))
        if unknown:
            raise EngineError(f"parameter_overrides names parameters the template lacks: {unknown}")
        values: dict[str, str] = {}
        for name, spec in declared.items():
            spec = spec or {}
            if name in overrides:
                value = cfn_string(overrides[name])
            elif "Default" in spec:
                value = cfn_string(spec["Default"])
            else:
                raise EngineError(f"parameter {name} has no Default: pass it in parameter_overrides")
            allowed = spec.get("AllowedValues")
            if allowed is not None and value not in [cfn_string(item) for item in allowed]:
                raise EngineError(f"parameter {name}={value!r} is not one of {allowed}")
            pattern = spec.get("AllowedPattern")
            if pattern is not None and not re.fullmatch(pattern, value):
                raise EngineError(f"parameter {name}={value!r} does not match {pattern}")
            if spec.get("Type") == "Number":
                try:
                    number = float(value)
                except ValueError:
                    raise EngineError(f"parameter {name}={value!r} is not a number") from None
                if "MinValue" in spec and number < float(spec["MinValue"]):
                    raise EngineError(f"parameter {name}={value} is below MinValue {spec['MinValue']}")
                if "MaxValue" in spec and number > float(spec["MaxValue"]):
                    raise EngineError(f"parameter {name}={value} is above MaxValue {spec['MaxValue']}")
            values[name] = value
        return values

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            conditions = self.template.get("Conditions") or {}
            if name not in conditions:
                raise EngineError(f"unknown condition {name}")
            self._conditions[name] = bool(self._condition_value(conditions[name]))
        return self._conditions[name]

    def _condition_value(self, value: Any) -> bool:
        if isinstance(value, dict) and len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Condition":
                return self.condition(argument)
            if key == "Fn::Equals":
                left, right = (self.resolve(item) for item in argument)
                return cfn_string(left) == cfn_string(right)
            if key == "Fn::Not":
                return not self._condition_value(argument[0])
            if key == "Fn::And":
                return all(self._condition_value(item) for item in argument)
            if key == "Fn::Or":
                return any(self._condition_value(item) for item in argument)
        raise EngineError(f"not a condition: {value!r}")

    # ----- physical ids ---------------------------------------------------------------------

    def function_name(self, logical_id: str) -> str:
        properties = self.resources[logical_id].get("Properties") or {}
        name = properties.get("FunctionName")
        return cfn_string(self.resolve(name)) if name is not None else logical_id

    def function_arn(self, logical_id: str) -> str:
        return f"arn:{PARTITION}:lambda:{self.region}:{self.account_id}:function:{self.function_name(logical_id)}"

    def state_machine_name(self, logical_id: str) -> str:
        properties = self.resources[logical_id].get("Properties") or {}
        name = properties.get("Name", properties.get("StateMachineName"))
        return cfn_string(self.resolve(name)) if name is not None else f"{self.stack_name}-{logical_id}"

    def state_machine_arn(self, logical_id: str) -> str:
        name = self.state_machine_name(logical_id)
        return f"arn:{PARTITION}:states:{self.region}:{self.account_id}:stateMachine:{name}"

    def event_bus_name(self, logical_id: str) -> str:
        properties = self.resources[logical_id].get("Properties") or {}
        return cfn_string(self.resolve(properties["Name"]))

    def queue_name(self, logical_id: str) -> str:
        """An SQS queue's name: its ``QueueName``, else its logical id."""
        properties = self.resources[logical_id].get("Properties") or {}
        name = properties.get("QueueName")
        return cfn_string(self.resolve(name)) if name is not None else logical_id

    def table_name(self, logical_id: str) -> str:
        """A DynamoDB table's name: its ``TableName``, else its logical id."""
        properties = self.resources[logical_id].get("Properties") or {}
        name = properties.get("TableName")
        return cfn_string(self.resolve(name)) if name is not None else logical_id

    def _resource_type(self, logical_id: str) -> str:
        if logical_id not in self.resources:
            raise EngineError(f"unknown resource or parameter {logical_id}")
        return str(self.resources[logical_id].get("Type"))

    def ref(self, name: str) -> Any:
        pseudo = {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account_id,
            "AWS::Partition": PARTITION,
            "AWS::StackName": self.stack_name,
            "AWS::StackId": f"arn:{PARTITION}:cloudformation:{self.region}:{self.account_id}:stack/"
            f"{self.stack_name}/00000000-0000-0000-0000-000000000000",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NotificationARNs": [],
        }
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            spec = (self.template.get("Parameters") or {}).get(name) or {}
            kind = str(spec.get("Type", "String"))
            if kind == "CommaDelimitedList" or kind.startswith("List<"):
                return [item.strip() for item in self.parameters[name].split(",")]
            return self.parameters[name]
        kind = self._resource_type(name)
        if kind in FUNCTION_TYPES:
            return self.function_name(name)
        if kind in STATE_MACHINE_TYPES:
            return self.state_machine_arn(name)
        if kind == EVENT_BUS_TYPE:
            return self.event_bus_name(name)
        if kind == TABLE_TYPE:
            return self.table_name(name)
        return name  # anything else: its logical id is a good enough local physical id

    def get_att(self, logical_id: str, attribute: str) -> Any:
        kind = self._resource_type(logical_id)
        if kind in FUNCTION_TYPES and attribute == "Arn":
            return self.function_arn(logical_id)
        if kind in STATE_MACHINE_TYPES and attribute == "Arn":
            return self.state_machine_arn(logical_id)
        if kind in STATE_MACHINE_TYPES and attribute == "Name":
            return self.state_machine_name(logical_id)
        if kind == EVENT_BUS_TYPE and attribute == "Name":
            return self.event_bus_name(logical_id)
        if kind == EVENT_BUS_TYPE and attribute == "Arn":
            name = self.event_bus_name(logical_id)
            return f"arn:{PARTITION}:events:{self.region}:{self.account_id}:event-bus/{name}"
        if kind == QUEUE_TYPE and attribute in ("Arn", "QueueName"):
            name = self.queue_name(logical_id)
            return (
                name
                if attribute == "QueueName"
                else f"arn:{PARTITION}:sqs:{self.region}:{self.account_id}:{name}"
            )
        if kind == TABLE_TYPE and attribute == "Arn":
            return f"arn:{PARTITION}:dynamodb:{self.region}:{self.account_id}:table/{self.table_name(logical_id)}"
        raise EngineError(f"!GetAtt {logical_id}.{attribute} ({kind}) is not supported locally")

    # ----- intrinsic functions ----------------------------------------------------------------

    def resolve(self, value: Any) -> Any:
        """``value`` with every intrinsic function evaluated; ``AWS::NoValue`` members dropped."""
        if isinstance(value, list):
            items = [self.resolve(item) for item in value]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref":
                return self.ref(argument)
            if key.startswith("Fn::"):
                return self._function(key[4:], argument)
        resolved = {key: self.resolve(item) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not NO_VALUE}

    def _function(self, name: str, argument: Any) -> Any:
        if name == "GetAtt":
            logical_id, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
            return self.get_att(logical_id, self.resolve(attribute))
        if name == "Sub":
            return self._sub(argument)
        if name == "If":
            condition, when_true, when_false = argument
            return self.resolve(when_true if self.condition(condition) else when_false)
        if name in {"Equals", "Not", "And", "Or"}:
            return self._condition_value({f"Fn::{name}": argument})
        if name == "Join":
            delimiter, items = argument
            return cfn_string(self.resolve(delimiter)).join(cfn_string(i) for i in self.resolve(items))
        if name == "Select":
            index, items = argument
            return self.resolve(items)[int(self.resolve(index))]
        if name == "Split":
            delimiter, text = argument
            return cfn_string(self.resolve(text)).split(cfn_string(self.resolve(delimiter)))
        if name == "FindInMap":
            mapping, first, second = (self.resolve(item) for item in argument)
            return self.template["Mappings"][mapping][first][second]
        raise EngineError(f"Fn::{name} is not supported locally")

    _SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")

    def _sub(self, argument: Any) -> str:
        if isinstance(argument, list):
            text, variables = argument[0], {k: self.resolve(v) for k, v in (argument[1] or {}).items()}
        else:
            text, variables = argument, {}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1).strip()
            if name.startswith("!"):
                return "${" + name[1:] + "}"  # ${!Literal}
            if name in variables:
                return cfn_string(variables[name])
            if "." in name and not name.startswith("AWS::"):
                logical_id, attribute = name.split(".", 1)
                return cfn_string(self.get_att(logical_id, attribute))
            resolved = self.ref(name)
            if isinstance(resolved, list) or resolved is NO_VALUE:
                raise EngineError(f"${{{name}}} in !Sub is not a string")
            return cfn_string(resolved)

        return self._SUB_VARIABLE.sub(replace, text)

    # ----- what the engine needs --------------------------------------------------------------

    def logical_ids(self, types: Iterable[str]) -> list[str]:
        wanted = set(types)
        return [logical_id for logical_id, res in self.resources.items() if res.get("Type") in wanted]

    def function_property(self, logical_id: str, name: str, default: Any = None) -> Any:
        """A function property, falling back to ``Globals.Function`` (SAM's rule)."""
        properties = self.resources[logical_id].get("Properties") or {}
        if name in properties:
            return self.resolve(properties[name])
        globals_ = (self.template.get("Globals") or {}).get("Function") or {}
        if name in globals_:
            return self.resolve(globals_[name])
        return default

    def function_environment(self, logical_id: str) -> dict[str, str]:
        """``Globals.Function.Environment.Variables`` merged with the function's own."""
        globals_ = (self.template.get("Globals") or {}).get("Function") or {}
        properties = self.resources[logical_id].get("Properties") or {}
        merged: dict[str, str] = {}
        for source in (globals_, properties):
            variables = self.resolve(((source.get("Environment") or {}).get("Variables")) or {})
            merged.update({key: cfn_string(value) for key, value in variables.items()})
        return merged
