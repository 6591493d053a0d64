"""Where a `sam build` output puts each function's code, and what Lambda puts on its sys.path.

A function's artifact folder holds its own package (session_provisioning); its dependencies
are in the DependenciesLayer's folder, under ``python/``. Lambda unpacks the function in
/var/task and each layer in /opt, and its Python runtime searches /var/task first, then
/opt/python (after /opt/python/lib/python3.13/site-packages, which our layer does not use).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local.template import load_template

__all__ = ["BuiltFunction", "built_functions", "layer_folders", "modules_without_unchecked_bytecode"]


@dataclass(frozen=True)
class BuiltFunction:
    logical_id: str
    properties: dict[str, Any]
    folder: Path  # what Lambda unpacks in /var/task
    layers: tuple[Path, ...]  # what Lambda unpacks in /opt, one folder per layer, in order

    @property
    def search_path(self) -> list[Path]:
        """The folders Python imports from, in Lambda's order (before the standard library)."""
        return [self.folder, *(layer / "python" for layer in self.layers)]


def layer_folders(template: dict[str, Any], build_dir: Path, properties: dict[str, Any]) -> tuple[Path, ...]:
    """The built folders of a function's layers (its own Layers, else the Globals')."""
    layers = properties.get("Layers", template.get("Globals", {}).get("Function", {}).get("Layers", []))
    resources = template["Resources"]
    folders = []
    for layer in layers:
        if not (isinstance(layer, dict) and "Ref" in layer and layer["Ref"] in resources):
            raise ValueError(f"only layers of this template can be read from a build, got {layer!r}")
        folders.append((build_dir / resources[layer["Ref"]]["Properties"]["ContentUri"]).resolve())
    return tuple(folders)


def built_functions(build_dir: Path) -> dict[str, BuiltFunction]:
    """Every function of the built template, by logical id."""
    template = load_template(build_dir / "template.yaml")
    found = {}
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        properties = resource["Properties"]
        found[logical_id] = BuiltFunction(
            logical_id=logical_id,
            properties=properties,
            folder=(build_dir / properties["CodeUri"]).resolve(),
            layers=layer_folders(template, build_dir, properties),
        )
    return found


def modules_without_unchecked_bytecode(folder: Path) -> list[Path]:
    """Modules under ``folder`` whose bytecode Lambda would not use as shipped.

    A .pyc whose flags (bytes 4-8 of its header) are 1 is hash-based and unchecked: Python loads
    it without looking at the source's time or bytes. Timestamp-checked bytecode (flags 0) is
    stale once `sam deploy` has dated every file 1980-01-01, and a module with no .pyc is
    compiled at every cold start (/var/task and /opt are read-only).
    """
    missing = []
    for source in sorted(folder.rglob("*.py")):
        cached = Path(importlib.util.cache_from_source(str(source)))
        try:
            header = cached.read_bytes()[:8]
        except OSError:
            missing.append(source)
            continue
        if int.from_bytes(header[4:8], "little") != 1:
            missing.append(source)
    return missing
