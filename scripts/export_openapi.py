"""Write openapi.json, the OpenAPI 3.1 description of the HTTP API, from the API's own resolver.

    python scripts/export_openapi.py            # (re)write openapi.json at the repository root
    python scripts/export_openapi.py --check    # exit 1 if openapi.json is not up to date

The document comes from the Powertools resolver in session_provisioning.handlers.api (routes,
the shared pydantic models, the declared responses), so it cannot describe another API than
the one deployed; tests/api/test_openapi.py fails when the committed file drifts.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = ROOT / "openapi.json"


def render() -> str:
    """The document as committed: 2-space indented JSON and a final newline."""
    # Importing the handler builds Powertools' Logger/Tracer/Metrics: keep them quiet here.
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "nimble-session-provisioning")
    if str(ROOT / "functions") not in sys.path:
        sys.path.insert(0, str(ROOT / "functions"))
    from session_provisioning.api.openapi import openapi_document
    from session_provisioning.handlers.api import app

    version = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    return json.dumps(openapi_document(app, version), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="default: %(default)s")
    parser.add_argument("--check", action="store_true", help="compare instead of writing; 1 if they differ")
    args = parser.parse_args(argv)
    document = render()
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != document:
            print(f"{args.output} is out of date: run python scripts/export_openapi.py", file=sys.stderr)
            return 1
        print(f"{args.output} is up to date")
        return 0
    args.output.write_text(document, encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
