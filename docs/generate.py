"""Write the generated documentation pages: the format matrix (from the installed plugins'
FormatInfo) and the schema reference (from the pydantic models)."""

from __future__ import annotations

import json
from pathlib import Path

import labelport
from labelport import schema
from labelport.plugin import FEATURES


def format_matrix() -> str:
    infos = labelport.formats()
    kinds = sorted({k for f in infos for k in f.annotation_types})
    lines = ["# Format matrix", "", "Generated from the installed plugins' capabilities.", ""]
    lines.append("| format | title | read | write | " + " | ".join(kinds) + " |")
    lines.append("|---" * (4 + len(kinds)) + "|")
    for f in infos:
        marks = " | ".join("✓" if k in f.annotation_types else "" for k in kinds)
        lines.append(f"| `{f.name}` | {f.title} | {'✓' if f.can_read else ''} | {'✓' if f.can_write else ''} | {marks} |")
    lines += ["", "## Features and options", ""]
    for f in infos:
        lines.append(f"### `{f.name}`")
        lines.append("")
        if f.description:
            lines += [f.description, ""]
        feats = ", ".join(FEATURES[x] for x in sorted(f.features)) or "none"
        lines.append(f"- features: {feats}")
        lines.append(f"- media: {', '.join(sorted(f.media))}; extensions: {', '.join(f.extensions) or '-'}")
        for what, model in (("read options", f.read_options), ("write options", f.write_options)):
            if model is not None:
                opts = ", ".join(
                    f"`{name}` ({_type(field)}, default `{field.default!r}`)" for name, field in model.model_fields.items()
                )
                lines.append(f"- {what}: {opts}")
        if f.docs_url:
            lines.append(f"- specification: <{f.docs_url}>")
        lines.append("")
    return "\n".join(lines)


def _type(field) -> str:
    ann = field.annotation
    return getattr(ann, "__name__", str(ann)).replace("typing.", "")


def schema_reference() -> str:
    doc = schema.DatasetDocument.model_json_schema()
    lines = ["# Schema reference", "", "Generated from the pydantic models in `labelport.schema`.", ""]
    lines += [
        "```{eval-rst}",
        ".. automodule:: labelport.schema",
        "   :members: Dataset, Item, Image, VideoFrame, Volume, PointCloud, "
        "AnnotationBase, Tag, BBox, Polygon, Polyline, Points, Keypoints, Ellipse, Cuboid2D, Cuboid3D, RLE, Mask, "
        "VolumeMask, Caption, Label, AttributeDef, Skeleton, Taxonomy, Info, LabelSet",
        "```",
        "",
    ]
    lines += ["## JSON Schema of a whole dataset document", "", "```json", json.dumps(doc, indent=1)[:200000], "```", ""]
    return "\n".join(lines)


def format_page(info) -> str:
    """One page per format: its capabilities and the plugin module's own description, which
    names the specification followed and the pitfalls handled."""
    import inspect

    from labelport.registry import default_registry

    module = default_registry().plugin(info.name)
    doc = inspect.getdoc(module) or ""
    lines = [f"# {info.title} (`{info.name}`)", ""]
    if info.description:
        lines += [info.description, ""]
    lines += ["```text", doc, "```", ""] if doc else []
    lines += ["## Capabilities", ""]
    lines.append(f"- read: {'yes' if info.can_read else 'no'}; write: {'yes' if info.can_write else 'no'}")
    lines.append(f"- annotation kinds: {', '.join(sorted(info.annotation_types)) or 'none'}")
    lines.append(f"- features: {', '.join(FEATURES[x] for x in sorted(info.features)) or 'none'}")
    lines.append(f"- media: {', '.join(sorted(info.media))}")
    lines.append(f"- install: `pip install ./plugins/labelport-{info.name.replace('_', '-')}` (module `{module.__name__}`)")
    if info.docs_url:
        lines.append(f"- specification: <{info.docs_url}>")
    lines += ["", "Anything else is converted or dropped by the core and listed in the conversion report.", ""]
    return "\n".join(lines)


def write_all(folder: Path) -> None:
    folder.mkdir(exist_ok=True)
    (folder / "formats").mkdir(exist_ok=True)
    pages = {"formats.md": format_matrix(), "schema.md": schema_reference()}
    infos = labelport.formats()
    for info in infos:
        pages[f"formats/{info.name}.md"] = format_page(info)
    index = ["# Formats, one page each", "", "```{toctree}", ":maxdepth: 1", ""]
    index += [f"formats/{info.name}" for info in infos] + ["```", ""]
    pages["format-pages.md"] = "\n".join(index)
    for name, text in pages.items():
        path = folder / name
        if not path.exists() or path.read_text() != text:
            path.write_text(text)


if __name__ == "__main__":
    write_all(Path(__file__).parent / "_generated")
