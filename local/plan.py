"""What the template asks the local stack to run, resolved: the functions and the state machine.

:func:`make_plan` reads the template once (through :class:`~local.template.TemplateResolver`)
and gives the engine everything it creates: one :class:`FunctionSpec` per function (handler,
code folder, Timeout, MemorySize and its own environment: ``Globals`` + its variables), and
the state machine's name, ARN and definition (the very ASL file of ``DefinitionUri``, with
``${Name}`` replaced by the resolved ``DefinitionSubstitutions``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local.template import (
    ACCOUNT_ID,
    FUNCTION_TYPES,
    PARTITION,
    STATE_MACHINE_TYPES,
    EngineError,
    TemplateResolver,
    cfn_string,
)

__all__ = ["FunctionSpec", "Plan", "make_plan"]


@dataclass(frozen=True)
class FunctionSpec:
    """A function of the template, as the engine runs it."""

    logical_id: str
    name: str
    arn: str
    handler: str  # "package.module.function", relative to code_dir
    code_dir: Path
    timeout: float  # seconds: the template's Timeout, or the engine's function_timeouts
    memory_size: int
    environment: dict[str, str] = field(default_factory=dict)  # Globals + its own, resolved

    @property
    def module_name(self) -> str:
        return self.handler.rsplit(".", 1)[0]

    @property
    def function_attribute(self) -> str:
        return self.handler.rsplit(".", 1)[1]


@dataclass(frozen=True)
class Plan:
    functions: dict[str, FunctionSpec]
    state_machine_logical_id: str
    state_machine_name: str
    state_machine_arn: str
    role_arn: str
    definition: str
    event_bus_name: str
    event_source: str


def make_plan(resolver: TemplateResolver, template_dir: Path, function_timeouts: Mapping[str, float]) -> Plan:
    if any(not seconds > 0 for seconds in function_timeouts.values()):
        raise EngineError(f"function_timeouts must be positive seconds: {dict(function_timeouts)}")
    machines = resolver.logical_ids(STATE_MACHINE_TYPES)
    if len(machines) != 1:
        raise EngineError(f"expected one state machine in the template, found {machines}")
    machine = machines[0]
    functions = {
        logical_id: _function_spec(resolver, template_dir, logical_id, function_timeouts)
        for logical_id in resolver.logical_ids(FUNCTION_TYPES)
    }
    unknown = sorted(set(function_timeouts) - set(functions))
    if unknown:
        raise EngineError(f"function_timeouts names functions the template lacks: {unknown}")
    properties = resolver.resources[machine].get("Properties") or {}
    values = resolver.resolve(properties.get("DefinitionSubstitutions") or {})
    substitutions = {key: cfn_string(value) for key, value in values.items()}
    bus, source = substitutions.get("EventBusName"), substitutions.get("EventSource")
    if bus is None or source is None:
        raise EngineError("DefinitionSubstitutions must name EventBusName and EventSource")
    return Plan(
        functions=functions,
        state_machine_logical_id=machine,
        state_machine_name=resolver.state_machine_name(machine),
        state_machine_arn=resolver.state_machine_arn(machine),
        role_arn=f"arn:{PARTITION}:iam::{ACCOUNT_ID}:role/{resolver.stack_name}-state-machine",
        definition=_definition(properties, template_dir, substitutions),
        event_bus_name=bus,
        event_source=source,
    )


def _function_spec(
    resolver: TemplateResolver, template_dir: Path, logical_id: str, timeouts: Mapping[str, float]
) -> FunctionSpec:
    handler = resolver.function_property(logical_id, "Handler")
    if not isinstance(handler, str) or "." not in handler:
        raise EngineError(f"{logical_id}: Handler must be 'module.function', got {handler!r}")
    code_uri = resolver.function_property(logical_id, "CodeUri", ".")
    if not isinstance(code_uri, str):
        raise EngineError(f"{logical_id}: CodeUri must be a local folder, got {code_uri!r}")
    return FunctionSpec(
        logical_id=logical_id,
        name=resolver.function_name(logical_id),
        arn=resolver.function_arn(logical_id),
        handler=handler,
        code_dir=(template_dir / code_uri).resolve(),
        timeout=timeouts[logical_id]
        if logical_id in timeouts
        else int(resolver.function_property(logical_id, "Timeout", 3)),
        memory_size=int(resolver.function_property(logical_id, "MemorySize", 128)),
        environment=resolver.function_environment(logical_id),
    )


def _definition(properties: Mapping[str, Any], template_dir: Path, substitutions: dict[str, str]) -> str:
    """The ASL SAM deploys, with ``${Name}`` replaced by the resolved DefinitionSubstitutions."""
    if "DefinitionUri" in properties:
        uri = properties["DefinitionUri"]
        if not isinstance(uri, str):
            raise EngineError("DefinitionUri must be a path to a local file")
        text = (template_dir / uri).read_text(encoding="utf-8")
    elif "Definition" in properties:
        text = json.dumps(properties["Definition"])
    else:
        raise EngineError("the state machine has neither DefinitionUri nor Definition")

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in substitutions:
            raise EngineError(f"${{{name}}} in the definition is not in DefinitionSubstitutions")
        return substitutions[name]

    text = re.sub(r"\$\{([^}]*)\}", replace, text)
    try:
        json.loads(text)
    except ValueError as error:
        raise EngineError(f"the substituted definition is not JSON: {error}") from error
    return text
