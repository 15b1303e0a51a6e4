"""The JSON Schema of game files, generated from the admin messages' descriptors and comments.

`python -m service.game.schema` writes it (`game.schema.json` beside this module); a test
regenerates it and fails when the committed copy is stale.
"""

from __future__ import annotations

import json
import sys
import tempfile
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from google.protobuf import descriptor_pb2
from google.protobuf.descriptor import FieldDescriptor

from service.game.kinds import KINDS, Kind
from service.game.messages import TIMESTAMP, enum_names, enum_prefix

SCHEMA_FILE = Path(__file__).with_name("game.schema.json")
PROTOS = Path(__file__).resolve().parents[2] / "protos"
ID_PATTERN = {"board_id": "^[a-z0-9_-]{1,32}$"}
DEFAULT_ID_PATTERN = "^[a-z0-9_-]{1,64}$"
_INT_RANGES = {
    FieldDescriptor.TYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_INT64: (-(2**63), 2**63 - 1),
}
_JSON_TYPES = {
    FieldDescriptor.TYPE_DOUBLE: "number",
    FieldDescriptor.TYPE_FLOAT: "number",
    FieldDescriptor.TYPE_BOOL: "boolean",
}
Comments = dict[str, str]


def _comments_from(files: descriptor_pb2.FileDescriptorSet) -> Comments:
    """Leading comments by the full name of each message, field, enum and enum value."""
    found: Comments = {}
    for file in files.file:
        names: dict[tuple[int, ...], str] = {}
        for i, message in enumerate(file.message_type):
            names[(4, i)] = f"{file.package}.{message.name}"
            for j, field in enumerate(message.field):
                names[(4, i, 2, j)] = f"{file.package}.{message.name}.{field.name}"
        for i, enum in enumerate(file.enum_type):
            names[(5, i)] = f"{file.package}.{enum.name}"
            for j, value in enumerate(enum.value):
                names[(5, i, 2, j)] = f"{file.package}.{enum.name}.{value.name}"
        for location in file.source_code_info.location:
            name = names.get(tuple(location.path))
            if name and location.leading_comments.strip():
                found[name] = " ".join(location.leading_comments.split())
    return found


def read_comments(protos: Path = PROTOS) -> Comments:
    """Runs protoc (grpc_tools, a development dependency) to read the protos' comments."""
    from grpc_tools import protoc  # noqa: PLC0415 - only needed to regenerate the schema

    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "set.pb"
        include = resources.files("grpc_tools") / "_proto"
        files = sorted(str(p.relative_to(protos)) for p in protos.glob("engagement/v1/*.proto"))
        argv = ["protoc", f"-I{protos}", f"-I{include}", "--include_source_info",
                "--include_imports", f"--descriptor_set_out={out}", *files]  # fmt: skip
        if protoc.main(argv) != 0:
            raise RuntimeError("protoc could not read the protos")
        return _comments_from(descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes()))


def _enum_schema(field: Any, comments: Comments) -> dict[str, Any]:
    enum = field.enum_type
    assert enum is not None
    prefix = enum_prefix(enum)
    lines = []
    for value in enum.values:
        if value.number == 0:
            continue
        text = comments.get(f"{enum.full_name}.{value.name}", "").rstrip(".")
        short = value.name[len(prefix) :].lower()
        lines.append(f"{short} ({text})" if text else short)
    return {"enum": enum_names(enum), "$comment": "; ".join(lines)}


def _scalar_schema(field: Any, comments: Comments) -> dict[str, Any]:
    if field.enum_type is not None:
        return _enum_schema(field, comments)
    if field.message_type is not None:
        if field.message_type.full_name == TIMESTAMP:
            return {"type": "string", "format": "date-time"}
        return {"$ref": f"#/$defs/{field.message_type.full_name}"}
    if field.type in _INT_RANGES:
        low, high = _INT_RANGES[field.type]
        return {"type": "integer", "minimum": low, "maximum": high}
    return {"type": _JSON_TYPES.get(field.type, "string")}


def _field_schema(field: Any, comments: Comments) -> dict[str, Any]:
    item = _scalar_schema(field, comments)
    text = comments.get(f"{field.containing_type.full_name}.{field.name}", "")
    if field.enum_type is not None:
        text = f"{text} Values: {item.pop('$comment')}.".strip()
    schema = {"type": "array", "items": item} if field.is_repeated else item
    return {"description": text, **schema} if text else schema


def _message_schema(
    descriptor: Any, comments: Comments, skip: tuple[str, ...], defs: dict[str, Any]
) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for field in descriptor.fields:
        if field.name in skip:
            continue
        properties[field.name] = _field_schema(field, comments)
        nested = field.message_type
        if nested is not None and nested.full_name != TIMESTAMP and nested.full_name not in defs:
            defs[nested.full_name] = {}  # claimed before recursing: messages may nest
            defs[nested.full_name] = _message_schema(nested, comments, (), defs)
    schema: dict[str, Any] = {"type": "object", "additionalProperties": False}
    if text := comments.get(descriptor.full_name):
        schema["description"] = text
    schema["properties"] = properties
    return schema


def _kind_schema(kind: Kind, comments: Comments, defs: dict[str, Any]) -> dict[str, Any]:
    spec = _message_schema(kind.message.DESCRIPTOR, comments, kind.output_only, defs)
    if kind.id_field:
        spec["required"] = [kind.id_field]
        pattern = ID_PATTERN.get(kind.id_field, DEFAULT_ID_PATTERN)
        spec["properties"][kind.id_field] = {
            **spec["properties"][kind.id_field], "type": "string", "pattern": pattern,
        }  # fmt: skip
    defs[f"spec.{kind.name}"] = spec
    return {
        "if": {"properties": {"kind": {"const": kind.name}}, "required": ["kind"]},
        "then": {"properties": {"spec": {"$ref": f"#/$defs/spec.{kind.name}"}}},
    }


def generate(comments: Comments) -> dict[str, Any]:
    """One document of a game file: a kind and its spec."""
    defs: dict[str, Any] = {}
    branches = [_kind_schema(kind, comments, defs) for kind in KINDS]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://engagement.local/game.schema.json",
        "title": "A document of an engagement game file",
        "description": "YAML files of one or more documents (---), each a kind and its spec: "
        "the fields of the admin API's message for that kind, enums by their short names.",
        "type": "object",
        "additionalProperties": False,
        "required": ["kind", "spec"],
        "properties": {
            "kind": {"enum": [kind.name for kind in KINDS]},
            "spec": {"type": "object"},
        },
        "allOf": branches,
        "$defs": dict(sorted(defs.items())),
    }


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


@cache
def load_schema() -> dict[str, Any]:
    """The committed schema, as the loader validates with it."""
    loaded: dict[str, Any] = json.loads(SCHEMA_FILE.read_text())
    return loaded


def main() -> int:
    SCHEMA_FILE.write_text(render(generate(read_comments())))
    print(f"wrote {SCHEMA_FILE}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
