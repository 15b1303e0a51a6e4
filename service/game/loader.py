"""Reads game files: YAML documents checked against the schema, each a resource with the file
and line it came from. Errors name the file, the line and the field."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from google.protobuf.message import Message
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from service.game.kinds import BY_NAME, Kind
from service.game.messages import SpecError, from_spec
from service.game.schema import load_schema

Path_ = tuple[str | int, ...]
SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a file, where it is."""

    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.field}: " if self.field else ""
        return f"{self.file}:{self.line}: {where}{self.message}"


class GameFileError(ValueError):
    """The files do not describe a valid game; nothing was sent."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(problem) for problem in problems))
        self.problems = problems


@dataclass(frozen=True)
class Resource:
    """One document: its kind, id and message, and where it was written."""

    kind: Kind
    id: str
    message: Message
    file: str
    line: int

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


class _Loader(yaml.SafeLoader):
    """Safe YAML without implicit timestamps: times and dates stay the strings the schema takes."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def field_path(path: Iterable[str | int]) -> str:
    """("spec", "tiers", 0, "target") -> spec.tiers[0].target"""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _build(node: yaml.Node, path: Path_, lines: dict[Path_, int], loader: _Loader) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        built: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node)
            if key in built:
                line = key_node.start_mark.line + 1
                raise SpecError(field_path((*path, key)), "is given twice", line)
            built[key] = _build(value_node, (*path, key), lines, loader)
        return built
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, (*path, i), lines, loader) for i, item in enumerate(node.value)]
    return loader.construct_object(node)


def _line_of(path: Path_, lines: dict[Path_, int]) -> int:
    while path not in lines:
        path = path[:-1]
    return lines[path]


def _problem(error: ValidationError, file: str, lines: dict[Path_, int]) -> Problem:
    path: Path_ = tuple(error.absolute_path)
    message = error.message
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
        extra = [key for key in error.instance if key not in allowed]
        if extra:
            path, message = (*path, extra[0]), "is not a field here"
    return Problem(file, _line_of(path, lines), field_path(path), message)


def _document(doc: Any, file: str, lines: dict[Path_, int]) -> Resource | list[Problem]:
    validator = Draft202012Validator(load_schema())
    problems = [_problem(error, file, lines) for error in validator.iter_errors(doc)]
    if problems:
        return sorted(problems, key=lambda problem: (problem.line, problem.field))
    kind = BY_NAME[doc["kind"]]
    try:
        message = from_spec(doc["spec"], kind.message())
    except SpecError as exc:
        parts = exc.path.replace("[", ".").replace("]", "").split(".")
        at = tuple(int(part) if part.isdigit() else part for part in parts)
        return [Problem(file, _line_of(at, lines), exc.path, str(exc).split(": ", 1)[1])]
    return Resource(kind, kind.id_of(message), message, file, lines[()])


def load_text(text: str, file: str) -> tuple[list[Resource], list[Problem]]:
    """The documents of one file, and what is wrong with them."""
    loader = _Loader(text)
    resources: list[Resource] = []
    problems: list[Problem] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            lines: dict[Path_, int] = {}
            loaded = _document(_build(node, (), lines, loader), file, lines)
            if isinstance(loaded, list):
                problems.extend(loaded)
            else:
                resources.append(loaded)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 1
        problems.append(Problem(file, line, "", f"not valid YAML: {exc.problem}"))
    except SpecError as exc:
        problems.append(Problem(file, exc.line, exc.path, str(exc).split(": ", 1)[1]))
    finally:
        loader.dispose()
    return resources, problems


def game_files(paths: Iterable[Path]) -> list[Path]:
    """The YAML files named, and those in the folders named (recursively), in name order."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.suffix in SUFFIXES))
        else:
            found.append(path)
    return found


def _duplicates(resources: list[Resource]) -> list[Problem]:
    first: dict[tuple[str, str], Resource] = {}
    problems = []
    for resource in resources:
        key = (resource.kind.name, resource.id)
        if key in first:
            other = first[key]
            message = f"{key[0]} {key[1]} is defined already at {other.where}"
            problems.append(Problem(resource.file, resource.line, "spec", message))
        else:
            first[key] = resource
    return problems


def load_game(paths: Iterable[Path]) -> list[Resource]:
    """Every resource of the files, or GameFileError listing every problem found."""
    resources: list[Resource] = []
    problems: list[Problem] = []
    for file in game_files(paths):
        try:
            text = file.read_text()
        except OSError as exc:
            problems.append(Problem(str(file), 0, "", f"cannot read it: {exc.strerror}"))
            continue
        loaded, found = load_text(text, str(file))
        resources.extend(loaded)
        problems.extend(found)
    problems.extend(_duplicates(resources))
    if problems:
        raise GameFileError(problems)
    return resources
