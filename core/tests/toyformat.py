"""A tiny format used by the core's own tests: one JSON document per dataset
(``dataset.toy.json``) holding the canonical items as they are."""

from __future__ import annotations

from pathlib import Path

from labelport.errors import FormatError
from labelport.io.jsonio import dump_json, load_json
from labelport.plugin import Detection, FormatInfo, OptionsBase, hookimpl
from labelport.schema import DatasetDocument


class ToyWriteOptions(OptionsBase):
    indent: bool = False


INFO = FormatInfo(
    name="toy",
    title="Toy JSON",
    extensions=(".json",),
    annotation_types=frozenset({"bbox", "polygon", "label"}),
    features=frozenset({"subsets", "attributes"}),
    write_options=ToyWriteOptions,
)


@hookimpl
def labelport_format_info():
    return INFO


@hookimpl
def labelport_detect(probe):
    name = "dataset.toy.json"
    if (probe.is_dir and probe.files(name)) or probe.path.name == name:
        return Detection(format="toy", confidence=0.9)
    return None


@hookimpl
def labelport_read(source: Path, options):
    path = source / "dataset.toy.json" if source.is_dir() else source
    doc = load_json(path)
    try:
        return DatasetDocument.model_validate(doc).to_dataset()
    except ValueError as exc:
        raise FormatError(str(exc).splitlines()[0], file=path) from None


@hookimpl
def labelport_write(dataset, target: Path, options, report):
    target.mkdir(parents=True, exist_ok=True)
    items = [item.model_dump(mode="json") for item in dataset]
    doc = {"labels": [lb.model_dump(mode="json") for lb in dataset.labels], "items": items}
    if options.normalized is not None:
        doc["normalized"] = options.normalized  # lets tests see the option arrive
    (target / "dataset.toy.json").write_bytes(dump_json(doc, indent=options.format_options.indent))
    return True
