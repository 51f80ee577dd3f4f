"""Datature keypoint skeleton files: the skeleton definitions Datature Nexus pairs with COCO
keypoint annotations, read into and written from labelport's label skeletons.

Specification: Datature's skeleton types (``skeleton.py`` of Datature's tooling, Apache-2.0): a
skeleton is ``{"skeletonId", "name", "keypoints": [{"id", "name", "category": [...]}],
"connections": [{"pair": [a, b]}]}`` where a connection names its two keypoints or gives their
0-based indices. The file holds::

    {"info": {...}, "licenses": [...], "cameras": [...], "chirality": [...], "skeletons": [...]}

``chirality`` lists mirror-image pairs, each ``{"pair": [a, b]}`` (or ``[a, b]``): two keypoint
names (``left_eye``/``right_eye``), or two keypoint categories (``left``/``right``) whose keypoints
pair up by name. A bare list of skeletons, or one skeleton object, is read too.

Canonical form: one label per skeleton (its name), with ``Skeleton(points, edges, flip_pairs)``;
``info``/``licenses`` go to the dataset info, ``cameras``, ids and keypoint categories to metadata
so they are written back. A skeleton file defines labels only: it holds no items.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from labelport.errors import FormatError
from labelport.io.jsonio import JsonReader, dump_json, load_json
from labelport.plugin import Detection, FormatInfo, OptionsBase, Probe, Problem, ReadOptions, Report, WriteOptions, hookimpl
from labelport.schema import Dataset, Info, Label, Skeleton


class DatatureSkeletonWriteOptions(OptionsBase):
    """Datature skeleton writer options."""

    #: write each connection's pair as keypoint names or as 0-based keypoint indices
    connections_by: Literal["name", "index"] = "name"


INFO = FormatInfo(
    name="datature_skeleton",
    title="Datature keypoint skeletons",
    description="Datature skeleton definitions (keypoints, connections by name or index, chirality, cameras) "
    "as label skeletons; pairs with COCO keypoint annotations.",
    extensions=(".json",),
    annotation_types=frozenset(),
    features=frozenset({"skeletons"}),
    single_file=True,
    write_options=DatatureSkeletonWriteOptions,
    docs_url="https://developers.datature.io/docs/uploading-annotations",
)

FILE_NAME = "skeletons.json"
_META = "datature"  # Info.metadata / Label.metadata key for what only this format keeps
_MAX_KEYPOINTS = 10_000


# --------------------------------------------------------------------------- format info


@hookimpl
def labelport_format_info() -> FormatInfo:
    return INFO


# --------------------------------------------------------------------------- detect


@hookimpl
def labelport_detect(probe: Probe) -> Detection | None:
    """A JSON object whose ``skeletons`` are objects with ``keypoints`` or ``connections``."""
    if not probe.is_dir:
        if probe.suffix != ".json":
            return None
        return _detect_file(probe, None)
    for rel in probe.files("*.json")[:20]:
        found = _detect_file(probe, rel)
        if found is not None:
            # a folder may also hold the COCO keypoints file the skeletons go with: COCO ranks higher
            return Detection(format="datature_skeleton", confidence=0.6, reason=f"Datature skeleton file {rel}")
    return None


def _detect_file(probe: Probe, rel: str | None) -> Detection | None:
    keys = probe.json_keys(rel)
    if "skeletons" not in keys:
        return None
    doc = probe.json(rel)
    if doc is not None:
        skeletons = doc.get("skeletons") if isinstance(doc, dict) else None
        first = skeletons[0] if isinstance(skeletons, list) and skeletons else None
        if not (isinstance(first, dict) and {"keypoints", "connections"} & set(first)):
            return None
    sure = bool({"chirality", "cameras"} & keys)
    return Detection(format="datature_skeleton", confidence=0.95 if sure else 0.85, reason="Datature skeleton JSON")


# --------------------------------------------------------------------------- read


@hookimpl
def labelport_read(source: Path, options: ReadOptions) -> Dataset:
    return _read(source, None)


def _files(source: Path) -> list[Path]:
    if source.is_file():
        return [source]
    probe = Probe(source)
    return [source / rel for rel in probe.files("*.json") if _detect_file(probe, rel) is not None]


def _read(source: Path, problems: list[Problem] | None) -> Dataset:
    files = _files(source)
    if not files:
        raise FormatError("no Datature skeleton file found", file=source)
    labels: dict[str, Label] = {}
    info = Info()
    for path in files:
        _read_file(path, labels, info, problems)
    return Dataset([], labels=list(labels.values()), info=info)


def _read_file(path: Path, labels: dict[str, Label], info: Info, problems: list[Problem] | None) -> None:
    doc = load_json(path)
    j = JsonReader(path)
    if isinstance(doc, list):
        doc = {"skeletons": doc}
    elif isinstance(doc, dict) and "skeletons" not in doc and "keypoints" in doc:
        doc = {"skeletons": [doc]}
    if not isinstance(doc, dict):
        raise j.error("$", "expected a skeleton file object")

    def warn(message: str, where: str) -> None:
        if problems is not None:
            problems.append(Problem(severity="warning", message=message, file=str(path), location=where))

    extra = info.metadata.setdefault(_META, {})
    raw_info = j.get(doc, "info", "", dict, required=False)
    if raw_info:
        info.description = info.description or _text(raw_info.get("description"))
        info.version = info.version or _text(raw_info.get("version"))
        info.name = info.name or _text(raw_info.get("name"))
        extra.setdefault("info", raw_info)
    licenses = j.get(doc, "licenses", "", list, required=False)
    if licenses:
        for k, lic in enumerate(licenses):
            j.check(lic, f"licenses[{k}]", dict)
        info.licenses = info.licenses or list(licenses)
    cameras = j.get(doc, "cameras", "", list, required=False)
    if cameras:
        extra.setdefault("cameras", cameras)
    chirality = _read_chirality(j, doc)
    if "chirality" in doc:
        extra.setdefault("chirality", doc["chirality"])

    for k, raw in enumerate(j.get(doc, "skeletons", "", list)):
        where = f"skeletons[{k}]"
        label = _read_skeleton(j, raw, where, chirality, warn)
        if label.name in labels:
            raise j.error(f"{where}.name", f"skeleton {label.name!r} is defined twice")
        labels[label.name] = label


def _text(value: Any) -> str | None:
    return str(value) if isinstance(value, (str, int, float)) and not isinstance(value, bool) and value != "" else None


def _pair(j: JsonReader, value: Any, where: str, kinds: tuple[type, ...]) -> list[Any]:
    pair = value.get("pair") if isinstance(value, dict) else value
    where = f"{where}.pair" if isinstance(value, dict) else where
    if not isinstance(pair, list) or len(pair) != 2:
        raise j.error(where, "expected a pair of two keypoints")
    for n, end in enumerate(pair):
        j.check(end, f"{where}[{n}]", kinds)
    return pair


def _read_chirality(j: JsonReader, doc: dict) -> list[tuple[str, str]]:
    raw = doc.get("chirality")
    if raw is None:
        return []
    if isinstance(raw, dict):  # {"left": "right"}
        return [(str(a), str(j.check(b, f"chirality.{a}", str))) for a, b in raw.items()]
    j.check(raw, "chirality", list)
    return [tuple(_pair(j, entry, f"chirality[{k}]", (str,))) for k, entry in enumerate(raw)]  # type: ignore[misc]


def _read_skeleton(j: JsonReader, raw: Any, where: str, chirality: list[tuple[str, str]], warn: Any) -> Label:
    name = str(j.get(raw, "name", where, (str, int)))
    keypoints = j.get(raw, "keypoints", where, list)
    if len(keypoints) > _MAX_KEYPOINTS:
        raise j.error(f"{where}.keypoints", f"{len(keypoints)} keypoints is more than a skeleton holds")
    names: list[str] = []
    ids: list[Any] = []
    categories: list[list[str]] = []
    for n, kp in enumerate(keypoints):
        kwhere = f"{where}.keypoints[{n}]"
        kp_name = str(j.get(kp, "name", kwhere, (str, int)))
        if kp_name in names:
            raise j.error(f"{kwhere}.name", f"keypoint {kp_name!r} is named twice (connections name keypoints)")
        names.append(kp_name)
        ids.append(j.get(kp, "id", kwhere, (str, int), required=False))
        cats = j.get(kp, "category", kwhere, list, required=False, default=[])
        for c, cat in enumerate(cats):
            j.check(cat, f"{kwhere}.category[{c}]", str)
        categories.append(list(cats))
    edges: list[tuple[int, int]] = []
    for n, con in enumerate(j.get(raw, "connections", where, list, required=False, default=[])):
        cwhere = f"{where}.connections[{n}]"
        a, b = (_keypoint_index(j, end, names, f"{cwhere}.pair[{e}]") for e, end in enumerate(_pair(j, con, cwhere, (str, int))))
        if a == b:
            warn(f"connection joins keypoint {names[a]!r} to itself", cwhere)
        if (a, b) in edges or (b, a) in edges:
            warn(f"connection {names[a]!r}-{names[b]!r} is listed twice", cwhere)
        edges.append((a, b))
    flips = _flip_pairs(names, categories, chirality, name, warn)
    meta: dict[str, Any] = {}
    if raw.get("skeletonId") is not None:
        meta["skeleton_id"] = j.get(raw, "skeletonId", where, (str, int))
    if any(i is not None for i in ids):
        meta["keypoint_ids"] = ids
    if any(categories):
        meta["keypoint_categories"] = categories
    skeleton = Skeleton(points=names, edges=edges, flip_pairs=flips)
    return Label(name=name, skeleton=skeleton, metadata={_META: meta} if meta else {})


def _keypoint_index(j: JsonReader, end: Any, names: list[str], where: str) -> int:
    if isinstance(end, bool):
        raise j.error(where, "expected a keypoint name or index, got a boolean")
    if isinstance(end, int):
        if not 0 <= end < len(names):
            raise j.error(where, f"keypoint index {end} is outside 0..{len(names) - 1}")
        return end
    if end not in names:
        raise j.error(where, f"no keypoint named {end!r}")
    return names.index(end)


def _flip_pairs(names: list[str], categories: list[list[str]], chirality: list[tuple[str, str]], skeleton: str,
                warn: Any) -> list[tuple[int, int]]:
    """Mirror-image keypoints: a chirality pair of two keypoint names, or of two categories whose
    keypoints match by name once one side's word is swapped for the other's."""
    out: list[tuple[int, int]] = []
    for a, b in chirality:
        if a in names and b in names:
            out.append((names.index(a), names.index(b)))
            continue
        side_a = [i for i, cats in enumerate(categories) if a in cats]
        side_b = {names[i]: i for i, cats in enumerate(categories) if b in cats}
        for i in side_a:
            mirror = _swap(names[i], a, b)
            if mirror in side_b:
                out.append((i, side_b[mirror]))
            elif side_b:
                warn(f"{skeleton}: keypoint {names[i]!r} ({a}) has no {b} counterpart named {mirror!r}", "chirality")
    seen: set[frozenset[int]] = set()
    unique = []
    for pair in out:
        key = frozenset(pair)
        if key not in seen and len(key) == 2:
            seen.add(key)
            unique.append(pair)
    return unique


def _swap(name: str, a: str, b: str) -> str:
    """``name`` with the word ``a`` replaced by ``b``, keeping the case of its first letter."""

    def repl(m: re.Match[str]) -> str:
        word = m.group(0)
        return b[:1].upper() + b[1:] if word[:1].isupper() else b

    return re.sub(re.escape(a), repl, name, flags=re.I)


# --------------------------------------------------------------------------- write


@hookimpl
def labelport_write(dataset: Dataset, target: Path, options: WriteOptions, report: Report) -> bool:
    """The skeleton file (``skeletons.json`` in a folder, or the ``.json`` target itself)."""
    opts: DatatureSkeletonWriteOptions = options.format_options or DatatureSkeletonWriteOptions()
    items = sum(1 for _ in _consume(dataset))
    if items:
        report.loss("items", "dropped (a skeleton file defines labels only; write the annotations as COCO keypoints)", items)
    extra = dataset.info.metadata.get(_META) or {}
    doc: dict[str, Any] = {}
    info = dict(extra.get("info") or {})
    for key in ("name", "description", "version"):
        value = getattr(dataset.info, key)
        if value:
            info[key] = value
    doc["info"] = info
    doc["licenses"] = list(dataset.info.licenses)
    doc["cameras"] = list(extra.get("cameras") or [])
    labels = [lb for lb in dataset.labels if lb.skeleton is not None]
    plain = sum(1 for lb in dataset.labels if lb.skeleton is None)
    if plain:
        report.loss("labels without a skeleton", "dropped (the file lists skeletons only)", plain)
    doc["chirality"] = _chirality_out(extra.get("chirality"), labels)
    doc["skeletons"] = [_skeleton_json(lb, opts) for lb in labels]
    path = target if target.suffix.lower() == ".json" else target / FILE_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(dump_json(doc, indent=True) + b"\n")
    return True


def _consume(dataset: Dataset) -> Iterator[Any]:
    yield from dataset


def _skeleton_json(label: Label, opts: DatatureSkeletonWriteOptions) -> dict[str, Any]:
    skeleton = label.skeleton
    assert skeleton is not None
    meta = label.metadata.get(_META) or {}
    ids = meta.get("keypoint_ids") or []
    cats = meta.get("keypoint_categories") or []
    keypoints = []
    for k, point in enumerate(skeleton.points):
        kp: dict[str, Any] = {}
        if k < len(ids) and ids[k] is not None and len(ids) == len(skeleton.points):
            kp["id"] = ids[k]
        kp["name"] = point
        kp["category"] = list(cats[k]) if len(cats) == len(skeleton.points) else []
        keypoints.append(kp)
    if opts.connections_by == "index":
        connections = [{"pair": [a, b]} for a, b in skeleton.edges]
    else:
        connections = [{"pair": [skeleton.points[a], skeleton.points[b]]} for a, b in skeleton.edges]
    out: dict[str, Any] = {}
    if meta.get("skeleton_id") is not None:
        out["skeletonId"] = meta["skeleton_id"]
    out.update({"name": label.name, "keypoints": keypoints, "connections": connections})
    return out


def _chirality_out(stored: Any, labels: list[Label]) -> list[dict[str, Any]]:
    """The chirality read (when it still gives every label's flip pairs), else the flip pairs
    as pairs of keypoint names."""
    if isinstance(stored, (list, dict)):
        try:
            j = JsonReader("<chirality>")
            pairs = _read_chirality(j, {"chirality": stored})
        except FormatError:
            pairs = None
        if pairs is not None:
            agrees = all(
                {frozenset(p) for p in _flip_pairs(lb.skeleton.points, _categories(lb), pairs, lb.name, lambda *_: None)}
                == {frozenset(p) for p in lb.skeleton.flip_pairs}
                for lb in labels
                if lb.skeleton is not None
            )
            if agrees:
                return [{"pair": list(p)} for p in pairs]
    out: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for lb in labels:
        assert lb.skeleton is not None
        for a, b in lb.skeleton.flip_pairs:
            pair = (lb.skeleton.points[a], lb.skeleton.points[b])
            if pair not in seen:
                seen.add(pair)
                out.append({"pair": list(pair)})
    return out


def _categories(label: Label) -> list[list[str]]:
    cats = (label.metadata.get(_META) or {}).get("keypoint_categories") or []
    assert label.skeleton is not None
    return [list(c) for c in cats] if len(cats) == len(label.skeleton.points) else [[] for _ in label.skeleton.points]


# --------------------------------------------------------------------------- validate


@hookimpl
def labelport_validate(source: Path, options: ReadOptions) -> list[Problem]:
    """Self-connections, connections listed twice, chirality categories without a counterpart."""
    problems: list[Problem] = []
    _read(source, problems)
    return problems
