"""Paths to handlers: a route is a path template with one handler per HTTP method.

An unknown path is 404 ``UnknownOperationException``; a known path with another method is
405 ``MethodNotAllowedException`` whose context names the allowed methods.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import unquote

from local.emulator.exceptions import MethodNotAllowedException, UnknownOperationException
from local.emulator.protocol import Reply, Request

__all__ = ["Handler", "Route", "resolve"]

#: A handler gets the request and the path parameters (plus ``caller`` on API routes).
Handler = Callable[[Request, dict[str, str]], Reply]


@dataclass(frozen=True)
class Route:
    pattern: re.Pattern[str]
    #: HTTP method → (operation name, handler).
    methods: Mapping[str, tuple[str, Handler]]

    @classmethod
    def at(cls, template: str, methods: Mapping[str, tuple[str, Handler]]) -> Route:
        """``/a/{x}/b``: one named group per ``{name}``, each a single path segment."""
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
        return cls(re.compile(f"^{regex}$"), methods)

    @property
    def template(self) -> str:
        return self.pattern.pattern.strip("^$")


def resolve(routes: list[Route], method: str, path: str) -> tuple[str, Handler, dict[str, str]]:
    """(operation name, handler, decoded path parameters) for this request."""
    for route in routes:
        found = route.pattern.match(path)
        if found is None:
            continue
        if method not in route.methods:
            allowed = ", ".join(sorted(route.methods))
            raise MethodNotAllowedException(
                f"{method} is not allowed on {path}; use {allowed}.", {"allow": allowed}
            )
        name, handler = route.methods[method]
        params = {key: unquote(value) for key, value in found.groupdict().items()}
        return name, handler, params
    raise UnknownOperationException(f"No operation at {method} {path}.", {"path": path})
