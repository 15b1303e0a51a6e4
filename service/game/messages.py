"""Game-file specs to messages and back, by the messages' descriptors: fields keep their proto
names, enums their short lowercase names (`daily` for CADENCE_DAILY), timestamps RFC 3339."""

from __future__ import annotations

from typing import Any

from google.protobuf.descriptor import EnumDescriptor, FieldDescriptor
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

TIMESTAMP = "google.protobuf.Timestamp"

# What the service stores for a field left unset, as the protos document it: both sides of a
# comparison get these, so that a file that leaves a default out matches what is live.
DEFAULTS: dict[str, dict[str, Any]] = {
    "engagement.v1.TaskDefinition": {
        "measure": "count", "cadence": "once", "week_start": 1, "rollout_percent": 100,
        "auto_claim": True,
    },
    "engagement.v1.BoostDefinition": {"reward_kinds": ["points"], "nth_period": "weekly"},
    "engagement.v1.CapDefinition": {"reward_kind": "points", "period": "daily"},
    "engagement.v1.LevelTable": {"exponent": 1.0},
    "engagement.v1.Board": {"timezone": "UTC"},
    "engagement.v1.Period": {"week_start": 1},
    "engagement.v1.League": {"cohort_size": 30},
    "engagement.v1.LeagueTier": {"idle_rule": "stay"},
    "engagement.v1.DuelType": {"measure": "count", "max_open_per_user": 3},
    "engagement.v1.Goal": {"min_contribution": 1},
}  # fmt: skip


class SpecError(ValueError):
    """A spec value that does not fit its field; `path` names the field."""

    def __init__(self, path: str, message: str, line: int = 0) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.line = line


def enum_prefix(enum: EnumDescriptor) -> str:
    """CADENCE_ for Cadence: the values' shared prefix, which the short names leave out."""
    names = [value.name for value in enum.values]
    prefix = names[0].rsplit("UNSPECIFIED", 1)[0] if names[0].endswith("UNSPECIFIED") else ""
    return prefix if all(name.startswith(prefix) for name in names) else ""


def enum_names(enum: EnumDescriptor) -> list[str]:
    """The short names a file may use: every value but the unspecified one."""
    prefix = enum_prefix(enum)
    return [v.name[len(prefix) :].lower() for v in enum.values if v.number != 0]


def _scalar_in(field: FieldDescriptor, value: Any, path: str) -> Any:
    if field.enum_type is not None:
        full = enum_prefix(field.enum_type) + str(value).upper()
        found = field.enum_type.values_by_name.get(full)
        if found is None or found.number == 0:
            raise SpecError(path, f"{value!r} is not one of {enum_names(field.enum_type)}")
        return found.number
    return value


def _set_field(message: Message, field: Any, value: Any, path: str) -> None:
    is_message = field.message_type is not None
    if field.is_repeated:
        target = getattr(message, field.name)
        for index, item in enumerate(value):
            if is_message:
                from_spec(item, target.add(), f"{path}[{index}]")
            else:
                target.append(_scalar_in(field, item, f"{path}[{index}]"))
    elif is_message and field.message_type.full_name == TIMESTAMP:
        try:
            getattr(message, field.name).FromJsonString(str(value))
        except ValueError:
            raise SpecError(path, f"{value!r} is not an RFC 3339 time") from None
    elif is_message:
        from_spec(value, getattr(message, field.name), path)
    else:
        setattr(message, field.name, _scalar_in(field, value, path))


def from_spec(spec: dict[str, Any], message: Message, path: str = "spec") -> Message:
    """Fills `message` from a spec (already checked against the schema)."""
    fields = message.DESCRIPTOR.fields_by_name
    for name, value in spec.items():
        if name not in fields:
            raise SpecError(f"{path}.{name}", "no such field")
        _set_field(message, fields[name], value, f"{path}.{name}")
    return message


def _scalar_out(field: FieldDescriptor, value: Any) -> Any:
    if field.enum_type is not None:
        name = field.enum_type.values_by_number[value].name
        return name[len(enum_prefix(field.enum_type)) :].lower()
    return value


def _value_out(field: FieldDescriptor, value: Any, skip: tuple[str, ...]) -> Any:
    if field.message_type is None:
        return _scalar_out(field, value)
    if field.message_type.full_name == TIMESTAMP:
        assert isinstance(value, Timestamp)
        return value.ToJsonString()
    return to_spec(value, skip)


def to_spec(message: Message, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """The spec of a message: its set fields, in field-number order, without `skip`."""
    spec: dict[str, Any] = {}
    for field, value in message.ListFields():
        if field.name in skip:
            continue
        if field.is_repeated:
            spec[field.name] = [_value_out(field, item, ()) for item in value]
        else:
            spec[field.name] = _value_out(field, value, ())
    return spec


def _with_defaults(spec: dict[str, Any], descriptor: Any) -> dict[str, Any]:
    filled = {**DEFAULTS.get(descriptor.full_name, {}), **spec}
    for name, value in filled.items():
        field = descriptor.fields_by_name[name]
        if field.message_type is None or field.message_type.full_name == TIMESTAMP:
            continue
        if isinstance(value, list):
            filled[name] = [_with_defaults(item, field.message_type) for item in value]
        else:
            filled[name] = _with_defaults(value, field.message_type)
    return filled


def canonical(message: Message, output_only: tuple[str, ...]) -> dict[str, Any]:
    """The spec with documented defaults filled in: equal exactly when nothing would change."""
    return _with_defaults(to_spec(message, output_only), message.DESCRIPTOR)
