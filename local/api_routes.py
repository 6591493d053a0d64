"""The REST API's routes, read from the template: the ``Api`` events of the API function.

Used by :mod:`local.api_gateway` (and re-exported there): ``Path`` with ``{name}`` /
``{name+}`` parameters, ``Method`` or ``ANY``, matched the most specific first as API Gateway
does, and the default ``StageName``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local.template import DEFAULT_TEMPLATE, load_template

__all__ = [
    "DEFAULT_FUNCTION",
    "DEFAULT_STAGE",
    "Route",
    "match_route",
    "routes_from_template",
    "stage_from_template",
]

DEFAULT_FUNCTION = "ApiFunction"
DEFAULT_STAGE = "v1"


@dataclass(frozen=True)
class Route:
    """One resource and method of the REST API (``ANY`` matches every method)."""

    method: str
    resource: str

    @property
    def pattern(self) -> re.Pattern[str]:
        return _resource_pattern(self.resource)

    @property
    def literal_segments(self) -> int:
        return sum(1 for part in self.resource.split("/") if part and not part.startswith("{"))


def _resource_pattern(resource: str) -> re.Pattern[str]:
    parts = []
    for segment in resource.strip("/").split("/"):
        greedy = re.fullmatch(r"\{(\w+)\+\}", segment)
        single = re.fullmatch(r"\{(\w+)\}", segment)
        if greedy:
            parts.append(f"(?P<{greedy[1]}>.+)")
        elif single:
            parts.append(f"(?P<{single[1]}>[^/]+)")
        else:
            parts.append(re.escape(segment))
    return re.compile("^/" + "/".join(parts) + "$")


def _template(template: str | Path | Mapping[str, Any]) -> Mapping[str, Any]:
    """A template given as a path is read; an already loaded one is used as it is."""
    return template if isinstance(template, Mapping) else load_template(template)


def routes_from_template(
    template: str | Path | Mapping[str, Any] = DEFAULT_TEMPLATE, function_logical_id: str = DEFAULT_FUNCTION
) -> list[Route]:
    """The function's ``Type: Api`` events as routes, the most specific first."""
    function = (_template(template).get("Resources") or {}).get(function_logical_id)
    if function is None:
        raise ValueError(f"the template has no resource {function_logical_id}")
    events = (function.get("Properties") or {}).get("Events") or {}
    routes = []
    for name, event in events.items():
        if (event or {}).get("Type") != "Api":
            continue
        properties = event.get("Properties") or {}
        path, method = properties.get("Path"), properties.get("Method")
        if not isinstance(path, str) or not isinstance(method, str):
            raise ValueError(f"{function_logical_id}.Events.{name}: Path and Method must be plain strings")
        routes.append(Route(method=method.upper(), resource=path))
    if not routes:
        raise ValueError(f"{function_logical_id} has no Api events")
    return sorted(routes, key=lambda route: (-route.literal_segments, route.method == "ANY"))


def stage_from_template(template: str | Path | Mapping[str, Any] = DEFAULT_TEMPLATE) -> str:
    """The stage name the template deploys by default (``StageName`` parameter)."""
    parameter = ((_template(template).get("Parameters") or {}).get("StageName")) or {}
    return str(parameter.get("Default", DEFAULT_STAGE))


def match_route(routes: Iterable[Route], method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    """The route for this method and (decoded) path, with its path parameters; None: no route."""
    candidates = []
    for route in routes:
        match = route.pattern.match(path)
        if match and route.method in (method.upper(), "ANY"):
            candidates.append((route, match.groupdict()))
    if not candidates:
        return None
    # A method of its own beats ANY on the same resource, as in API Gateway.
    candidates.sort(key=lambda item: (-item[0].literal_segments, item[0].method == "ANY"))
    return candidates[0]
