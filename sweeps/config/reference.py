"""The sweep-file reference in README.md, generated from the spec's own field descriptions so the two
cannot drift apart (``python -m sweeps.config.reference README.md`` rewrites it; a test compares them)."""

from __future__ import annotations

import typing

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from search_spaces.space import ParamSpec
from sweeps.spec import SweepSpec

BEGIN, END = "<!-- reference:begin -->", "<!-- reference:end -->"


def reference_markdown() -> str:
    """One table per section: key, type, default, description."""
    parts = ["| key | type | default | meaning |", "|---|---|---|---|", *_rows(SweepSpec, prefix="")]
    return "\n".join([BEGIN, *parts, "", "Search-space distributions (`search_space.<spec path>: {type: ...}`):", "",
                      distributions_markdown(), END])


def _rows(model: type[BaseModel], *, prefix: str) -> list[str]:
    rows = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            rows += _rows(annotation, prefix=f"{prefix}{name}.")
        elif field.discriminator:
            rows += _tagged_union_rows(field, prefix=f"{prefix}{name}.")
        else:
            rows.append(_row(f"{prefix}{name}", field))
    return rows


def _tagged_union_rows(field, *, prefix: str) -> list[str]:
    """A section whose fields depend on its tag (``method.name``, ``task.type``): the tag's row, then one row per field,
    marked with the tags that have it (a field two tags define differently gets a row for each)."""
    tag = field.discriminator
    members = typing.get_args(field.annotation)
    tags = [member.model_fields[tag].default for member in members]
    meaning = " ".join([field.description, *(member.model_fields[tag].description for member in members)])
    alternatives = " \\| ".join(f"`{name}`" for name in tags)
    rows = [f"| `{prefix}{tag}` | {alternatives} | `{getattr(field.default_factory(), tag)}` | {meaning} |"]
    owners: dict[tuple[str, str], tuple[object, list[str]]] = {}
    for member, member_tag in zip(members, tags, strict=True):
        for name, member_field in member.model_fields.items():
            if name != tag:
                key = (name, _row(name, member_field))
                owners.setdefault(key, (member_field, []))[1].append(member_tag)
    return rows + [_row(f"{prefix}{name}", member_field, only=only)
                   for (name, _), (member_field, only) in owners.items()]


def _row(key: str, field, *, only: list[str] | None = None) -> str:
    default = "required" if field.is_required() else _default_text(field)
    description = (field.description or "").replace("|", "\\|")
    if only:
        description = f"({', '.join(only)}) {description}"
    return f"| `{key}` | {_type_text(field.annotation)} | {default} | {description} |"


def _default_text(field) -> str:
    if field.default is PydanticUndefined:
        return "see section"
    return f"`{field.default}`"


def _type_text(annotation) -> str:
    if typing.get_origin(annotation) is typing.Literal:
        return " \\| ".join(f"`{value}`" for value in typing.get_args(annotation))
    if typing.get_origin(annotation) is dict:
        return "mapping"
    text = annotation.__name__ if isinstance(annotation, type) else str(annotation)
    return text.replace("typing.", "").replace("NoneType", "None").replace("|", "\\|")


def distributions_markdown() -> str:
    """One row per search-space distribution, from the models in ``search_spaces.space``."""
    rows = ["| type | fields | meaning |", "|---|---|---|"]
    for model in typing.get_args(typing.get_args(ParamSpec)[0]):
        tag = typing.get_args(model.model_fields["type"].annotation)[0]
        fields = ", ".join(f"`{name}`" + ("" if field.is_required() else f" (default `{field.default}`)")
                           for name, field in model.model_fields.items() if name != "type")
        summary = " ".join((model.__doc__ or "").split("\n\n")[0].split())
        rows.append(f"| `{tag}` | {fields} | {summary} |")
    return "\n".join(rows)


def with_reference(readme: str) -> str:
    """``readme`` with the text between the reference markers replaced by the generated reference."""
    head, _, rest = readme.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return head + reference_markdown() + tail


if __name__ == "__main__":
    import sys
    from pathlib import Path

    # `python -m sweeps.config.reference README.md` rewrites the block in place; without a file it prints it.
    if len(sys.argv) > 1:
        readme_path = Path(sys.argv[1])
        readme_path.write_text(with_reference(readme_path.read_text()))
    else:
        print(reference_markdown())
