"""Write the JSON Schemas of the EventBridge events, from the detail models, in both places.

    python scripts/generate_event_schemas.py            # (re)write schemas/*.json and template.yaml
    python scripts/generate_event_schemas.py --check    # exit 1 if either is not up to date

Each schema (JSON Schema draft 4, what the EventBridge schema registry takes as
JSONSchemaDraft4) describes the whole event as EventBridge delivers it to targets: the
envelope (version, id, detail-type, source, ...) and its `detail`, which comes from the
pydantic model the workflow builds it with (`ReadyDetail`, `FailedDetail` in
session_provisioning.models.events). The same text goes to:

* schemas/<name>.json, 2-space indented, for consumers and tests;
* template.yaml, as the `Content` of the matching AWS::EventSchemas::Schema, between the lines
  `# BEGIN GENERATED schemas/<name>.json` and `# END GENERATED schemas/<name>.json`.

Content is a string and CloudFormation has no way to read it from a file (the schema resource
takes no S3 location, and AWS::Include splices YAML, not a string), so the text has to be in
the template. It is written there as one double-quoted YAML string, the same text character for
character: one template line per member of the schema and of its `properties` and
`definitions`, each line's newlines and indentation escaped. Written as indented JSON, the two
schemas would repeat their envelope and their Timings line for line.

tests/infrastructure/test_event_schemas.py fails when a model, a file or the template drifts.

From pydantic's schema (draft 2020-12 style) to draft 4: `$defs` become `definitions`; an
optional member (`X | None = None`) is left out of the event when unset (the details are
dumped with exclude_none), so it is described as X and not required, rather than X-or-null;
pydantic's generated property titles are dropped.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any, NamedTuple

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS_DIR = ROOT / "schemas"
TEMPLATE = ROOT / "template.yaml"
DRAFT_4 = "http://json-schema.org/draft-04/schema#"


class EventSchema(NamedTuple):
    file: str  # in schemas/
    title: str
    detail_type: str
    model: Any  # the pydantic model of `detail`
    description: str


def event_schemas() -> list[EventSchema]:
    if str(ROOT / "functions") not in sys.path:
        sys.path.insert(0, str(ROOT / "functions"))
    from session_provisioning.models.events import (
        DELAYED_DETAIL_TYPE,
        FAILED_DETAIL_TYPE,
        READY_DETAIL_TYPE,
        DelayedDetail,
        FailedDetail,
        ReadyDetail,
    )

    return [
        EventSchema(
            file="streaming_session_ready.json",
            title="StreamingSessionReady",
            detail_type=READY_DETAIL_TYPE,
            model=ReadyDetail,
            description="The streaming session a request asked for is READY.",
        ),
        EventSchema(
            file="streaming_session_failed.json",
            title="StreamingSessionFailed",
            detail_type=FAILED_DETAIL_TYPE,
            model=FailedDetail,
            description="A request failed: error says why; cleanup what became of a session it created.",
        ),
        EventSchema(
            file="streaming_session_delayed.json",
            title="StreamingSessionDelayed",
            detail_type=DELAYED_DETAIL_TYPE,
            model=DelayedDetail,
            description="readyBy passed before the session was READY (not terminal: Ready or Failed follows).",
        ),
    ]


# --- pydantic -> draft 4 --------------------------------------------------------------------------


def _is_null(schema: Any) -> bool:
    return isinstance(schema, dict) and schema == {"type": "null"}


def _draft4(node: Any) -> Any:
    """pydantic's JSON Schema of a model, rewritten as draft 4 for the event's wire form."""
    if isinstance(node, list):
        return [_draft4(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = dict(node)
    any_of = node.get("anyOf")
    optional = "default" in node and node["default"] is None
    if isinstance(any_of, list) and optional and any(_is_null(item) for item in any_of):
        # Optional member: absent from the event when unset (exclude_none), never null.
        rest = [item for item in any_of if not _is_null(item)]
        node.pop("anyOf")
        node.pop("default", None)
        if len(rest) == 1:
            node = {**rest[0], **{k: v for k, v in node.items() if k != "title"}}
        else:
            node["anyOf"] = rest
    if "$ref" in node:
        node["$ref"] = node["$ref"].replace("#/$defs/", "#/definitions/")
    result: dict[str, Any] = {}
    for key, value in node.items():
        if key == "$defs":
            result["definitions"] = {name: _draft4(item) for name, item in value.items()}
        elif key == "properties":
            result["properties"] = {
                name: {k: v for k, v in _draft4(item).items() if k != "title"} for name, item in value.items()
            }
        else:
            result[key] = _draft4(value)
    return result


def schema_for(event: EventSchema) -> dict[str, Any]:
    detail = _draft4(event.model.model_json_schema(ref_template="#/$defs/{model}"))
    definitions = detail.pop("definitions", {})
    model_name = event.model.__name__
    definitions[model_name] = detail
    return {
        "$schema": DRAFT_4,
        "title": event.title,
        "description": f"{event.description} The event as EventBridge delivers it to targets; `detail` is "
        f"session_provisioning.models.events.{model_name}. Generated by scripts/generate_event_schemas.py.",
        "type": "object",
        "required": [
            "version",
            "id",
            "detail-type",
            "source",
            "account",
            "time",
            "region",
            "resources",
            "detail",
        ],
        "properties": {
            "version": {"type": "string"},
            "id": {"type": "string"},
            "detail-type": {"type": "string", "enum": [event.detail_type]},
            "source": {"type": "string", "description": "The stack's EventSource parameter."},
            "account": {"type": "string"},
            "time": {"type": "string", "format": "date-time"},
            "region": {"type": "string"},
            "resources": {"type": "array", "items": {"type": "string"}},
            "replay-name": {
                "type": "string",
                "description": "Set when the event is replayed from the archive.",
            },
            "detail": {"$ref": f"#/definitions/{model_name}"},
        },
        "definitions": dict(sorted(definitions.items())),
    }


def render(event: EventSchema) -> str:
    """The schema as committed in schemas/: 2-space indented JSON and a final newline."""
    return json.dumps(schema_for(event), indent=2, ensure_ascii=False) + "\n"


# --- template.yaml ------------------------------------------------------------------------------


def _block(file: str) -> re.Pattern[str]:
    name = re.escape(f"schemas/{file}")
    return re.compile(
        rf"^(?P<indent>[ ]*)# BEGIN GENERATED {name}\n.*?^(?P=indent)# END GENERATED {name}\n",
        re.MULTILINE | re.DOTALL,
    )


#: A line of the schema's JSON that starts a line of the template: a member of the schema (2
#: spaces in), of its `properties` or of its `definitions` (4 spaces in and a key), or its end.
_MEMBER = re.compile(r'^(?:[ ]{0,2}\S|[ ]{4}"[^"]*": )')


def _double_quoted(text: str) -> str:
    r"""`text` as a YAML double-quoted scalar, in lines (without indentation).

    A new line at each member (see _MEMBER); a line ends with the escaped newline, the next
    member's indentation and `\` (an escaped line break: YAML drops it and the next line's
    leading blanks, and keeps the blanks written before it).
    """

    def escape(chunk: str) -> str:
        return chunk.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")

    members: list[list[str]] = []
    for line in text.split("\n"):
        if not members or _MEMBER.match(line):
            members.append([])
        members[-1].append(line)
    lines = []
    for number, member in enumerate(members):
        body = escape("\n".join(member).lstrip(" "))
        if number + 1 < len(members):
            following = members[number + 1][0]
            lines.append(body + "\\n" + following[: len(following) - len(following.lstrip(" "))] + "\\")
        else:
            lines.append(body)
    lines[0], lines[-1] = '"' + lines[0], lines[-1] + '"'
    return "\n".join(lines)


def render_template(template_text: str, schemas: dict[str, str]) -> str:
    """template.yaml with each generated block holding `Content:` and the schema's text."""
    for file, text in schemas.items():
        pattern = _block(file)
        match = pattern.search(template_text)
        if match is None:
            raise ValueError(f"template.yaml has no '# BEGIN GENERATED schemas/{file}' ... '# END' block")
        indent = match.group("indent")
        first, *rest = _double_quoted(text.rstrip("\n")).split("\n")
        body = "".join(f"{indent}  {line}\n" for line in rest)
        block = (
            f"{indent}# BEGIN GENERATED schemas/{file}\n"
            f"{indent}Content: {first}\n{body}"
            f"{indent}# END GENERATED schemas/{file}\n"
        )
        template_text = template_text[: match.start()] + block + template_text[match.end() :]
    return template_text


# --- command line -------------------------------------------------------------------------------


def outputs(schemas_dir: Path, template: Path) -> dict[Path, str]:
    """Every file this script writes, with the text it should hold."""
    rendered = {event.file: render(event) for event in event_schemas()}
    wanted = {schemas_dir / file: text for file, text in rendered.items()}
    wanted[template] = render_template(template.read_text(encoding="utf-8"), rendered)
    return wanted


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schemas-dir", type=Path, default=SCHEMAS_DIR, help="default: %(default)s")
    parser.add_argument("--template", type=Path, default=TEMPLATE, help="default: %(default)s")
    parser.add_argument("--check", action="store_true", help="compare instead of writing; 1 if any differs")
    args = parser.parse_args(argv)
    wanted = outputs(args.schemas_dir, args.template)
    if args.check:
        stale = [
            path
            for path, text in wanted.items()
            if not path.exists() or path.read_text(encoding="utf-8") != text
        ]
        for path in stale:
            print(f"{path} is out of date: run python scripts/generate_event_schemas.py", file=sys.stderr)
        if not stale:
            print("event schemas are up to date")
        return 1 if stale else 0
    args.schemas_dir.mkdir(parents=True, exist_ok=True)
    for path, text in wanted.items():
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
