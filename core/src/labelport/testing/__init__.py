"""The conformance kit every format plugin subclasses.

```python
from pathlib import Path
from labelport.testing import FormatConformance

class TestCocoConformance(FormatConformance):
    format_name = "coco"
    samples = Path(__file__).parent / "data"
```

Each entry of ``samples`` (a file or a folder) is one sample dataset written from
the format's specification. Class attributes switch tests on or tune them; every
kit test's docstring says how to fix a failure. Overriding a kit test is refused
unless it is listed in ``kit_overrides`` with the reason.
"""

from __future__ import annotations

import fnmatch
import random
import shutil
from collections.abc import Iterator
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, ClassVar

import orjson
import pytest

import labelport
from labelport.errors import LabelportError, TargetExistsError
from labelport.io.media import IMAGE_SUFFIXES
from labelport.plugin import FEATURES, FormatInfo, Probe, ReadOptions, WriteOptions
from labelport.registry import ENTRY_POINT_GROUP, default_registry
from labelport.schema import ANNOTATION_TYPES, Dataset, Item, Label
from labelport.testing.compare import diff_datasets

__all__ = ["FormatConformance", "diff_datasets", "foreign_inputs"]


def foreign_inputs(root: Path) -> list[Path]:
    """Inputs that are no annotation format at all, written under ``root``."""
    from PIL import Image

    root.mkdir(parents=True, exist_ok=True)
    made = []
    (root / "random.bin").write_bytes(random.Random(7).randbytes(2048))
    made.append(root / "random.bin")
    Image.new("RGB", (8, 8)).save(root / "picture.png")
    made.append(root / "picture.png")
    (root / "empty").mkdir(exist_ok=True)
    made.append(root / "empty")
    (root / "numbers.json").write_text("[1, 2, 3]")
    made.append(root / "numbers.json")
    (root / "config.json").write_text('{"name": "x", "version": 3, "settings": {"a": 1}}')
    made.append(root / "config.json")
    (root / "page.xml").write_text("<html><body>hello</body></html>")
    made.append(root / "page.xml")
    (root / "notes.txt").write_text("shopping list\nmilk, eggs\n")
    made.append(root / "notes.txt")
    docs = root / "documents"
    docs.mkdir(exist_ok=True)
    (docs / "readme.md").write_text("# hello\n")
    (docs / "table.csv").write_text("city,population\nParis,2100000\n")
    made.append(docs)
    return made


def _annotation_files(sample: Path, image_annotations: tuple[str, ...] = ()) -> list[Path]:
    """The files of a sample that truncation and mutation target: everything but media,
    plus images whose name matches one of ``image_annotations`` (mask PNGs)."""
    files = [sample] if sample.is_file() else sorted(p for p in sample.rglob("*") if p.is_file())

    def named(p: Path) -> bool:
        rel = p.name if sample.is_file() else p.relative_to(sample).as_posix()
        return any(fnmatch.fnmatch(p.name, pat) or fnmatch.fnmatch(rel, pat) for pat in image_annotations)

    return [p for p in files if p.suffix.lower() not in IMAGE_SUFFIXES or named(p)]


def _consume(dataset: Dataset) -> int:
    n = 0
    for item in dataset:
        for ann in item.annotations:
            _ = ann.type
        n += 1
    return n


class FormatConformance:
    """Conformance tests for one format plugin. Set ``format_name`` and ``samples``."""

    #: the format id (entry-point name) under test
    format_name: ClassVar[str] = ""
    #: a folder whose entries are sample datasets of the format
    samples: ClassVar[Path | None] = None
    #: extra inputs that must not be detected as this format
    foreign_samples: ClassVar[tuple[Path, ...]] = ()
    #: largest coordinate difference a write->read round trip may introduce (pixels)
    tolerance: ClassVar[float] = 1e-6
    #: features or aspects the round trip does not keep although declared (with a reason in a comment)
    roundtrip_ignore: ClassVar[frozenset[str]] = frozenset()
    #: generated datasets use whole-pixel coordinates (formats that store integers)
    integer_coordinates: ClassVar[bool] = False
    #: annotation kinds to generate (default: every kind the format declares)
    generated_kinds: ClassVar[tuple[str, ...] | None] = None
    #: options passed to save() in round trips
    write_options: ClassVar[dict[str, Any]] = {}
    #: how many mutated copies of each sample the fuzz test reads
    fuzz_cases: ClassVar[int] = 40
    #: hypothesis examples for the generated round trip
    generated_examples: ClassVar[int] = 25
    #: glob patterns (file name or path relative to the sample) of image files that are
    #: annotations (mask PNGs), fuzzed like the other files
    image_annotations: ClassVar[tuple[str, ...]] = ()
    #: False for formats that define labels only (a skeleton or taxonomy file): samples hold no items
    has_items: ClassVar[bool] = True
    #: kit tests a subclass overrides on purpose: {name: reason}
    kit_overrides: ClassVar[dict[str, str]] = {}

    # ------------------------------------------------------------------ helpers

    @property
    def info(self) -> FormatInfo:
        return default_registry().info(self.format_name)

    def sample_paths(self) -> list[Path]:
        if self.samples is None or not Path(self.samples).is_dir():
            pytest.fail(f"{type(self).__name__}.samples must be a folder of sample datasets")
        paths = sorted(p for p in Path(self.samples).iterdir() if not p.name.startswith((".", "_")))
        assert paths, f"no samples in {self.samples}"
        return paths

    def reduce_generated(self, dataset: Dataset) -> Dataset:
        """Reduce a generated dataset to what the format can hold beyond its declared kinds and
        features (one identity per image, one mask value per pixel); identity by default. The
        generated round trip then also requires the save to be lossless."""
        return dataset

    def corrupt(self, sample: Path) -> None:
        """Damage a copy of a sample so that validation must report an error.
        The default cuts the largest annotation file in half; override for formats
        where a truncated file is still valid."""
        target = max(_annotation_files(sample, self.image_annotations), key=lambda p: p.stat().st_size)
        data = target.read_bytes()
        target.write_bytes(data[: len(data) // 2] + b"\x00garbage")

    def _copy(self, sample: Path, tmp_path: Path) -> Path:
        dst = tmp_path / "copy" / sample.name
        if sample.is_dir():
            shutil.copytree(sample, dst)
        else:
            dst.parent.mkdir(parents=True)
            shutil.copy2(sample, dst)
        return dst

    def _writable(self) -> None:
        if not self.info.can_write:
            pytest.skip(f"{self.format_name} is read-only: there is no writer to round-trip through")

    def _load_or_labelport_error(self, path: Path) -> None:
        try:
            _consume(labelport.load(path, format=self.format_name))
        except LabelportError:
            pass

    # ------------------------------------------------------------------ plugin and info

    def test_entry_point_installed(self) -> None:
        """The format is installed under the entry-point group ``labelport.formats`` with its id as name.
        Fix: add ``[project.entry-points."labelport.formats"] <id> = "<module>"`` to the plugin's pyproject."""
        names = {ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)}
        assert self.format_name in names, f"no entry point {self.format_name!r} in {ENTRY_POINT_GROUP}"
        assert self.info.name == self.format_name

    def test_format_info_is_consistent(self) -> None:
        """Capabilities use known names. Fix: use the kinds in ``labelport.schema.ANNOTATION_TYPES``
        and the features in ``labelport.plugin.FEATURES``."""
        info = self.info
        assert info.annotation_types <= set(ANNOTATION_TYPES), info.annotation_types - set(ANNOTATION_TYPES)
        assert info.features <= set(FEATURES), info.features - set(FEATURES)
        assert info.title and (info.can_read or info.can_write)
        for ext in info.extensions:
            assert ext.startswith(".") and ext == ext.lower(), f"extension {ext!r} must be lower case with a dot"

    def test_option_names_do_not_collide_with_core_options(self) -> None:
        """A format option must not share a name with a core read/write/export option (the API
        routes options by name). Fix: rename the option in your ``read_options``/``write_options``."""
        from labelport.api import ExportOptions

        core_read = set(ReadOptions.model_fields)
        core_write = set(WriteOptions.model_fields) | set(ExportOptions.model_fields)
        info = self.info
        if info.read_options is not None:
            clash = set(info.read_options.model_fields) & (core_read | core_write)
            assert not clash, f"read options {sorted(clash)} collide with core options"
        if info.write_options is not None:
            clash = set(info.write_options.model_fields) & (core_read | core_write)
            assert not clash, f"write options {sorted(clash)} collide with core options"

    # ------------------------------------------------------------------ detection

    def test_samples_are_detected(self) -> None:
        """Each sample is detected as this format, ranked first. Fix: make ``labelport_detect``
        recognise the sample's content, or raise its confidence above overlapping formats."""
        for sample in self.sample_paths():
            found = labelport.detect(sample)
            assert found and found[0].format == self.format_name, f"{sample.name}: {found}"
            if len(found) > 1:
                assert found[1].confidence < found[0].confidence, f"{sample.name}: tie {found[:2]}"

    def test_foreign_inputs_are_not_detected(self, tmp_path: Path) -> None:
        """Inputs of no annotation format are not claimed. Fix: check content (keys, root element,
        layout), not only extensions, in ``labelport_detect``."""
        plugin = default_registry().plugin(self.format_name)
        for path in [*foreign_inputs(tmp_path), *self.foreign_samples]:
            result = plugin.labelport_detect(probe=Probe(path))  # type: ignore[attr-defined]
            assert result is None, f"{path.name} detected as {result}"

    # ------------------------------------------------------------------ reading

    def test_samples_read_into_valid_items(self) -> None:
        """Every sample reads, and every item re-validates against the schema. Fix: build
        annotations through the schema models (or ``model_validate`` what you construct)."""
        total = labels = 0
        for sample in self.sample_paths():
            ds = labelport.load(sample, format=self.format_name)
            for label in ds.labels:
                Label.model_validate(label.model_dump())
                labels += 1
            for item in ds:
                Item.model_validate(item.model_dump())
                total += 1
                for ann in item.annotations:
                    assert ann.type in self.info.annotation_types, f"{sample.name}: reader produced {ann.type}"
                    if ann.label is not None:
                        assert ann.label in ds.labels, f"{sample.name}: label {ann.label!r} not declared"
        if self.has_items:
            assert total > 0, "the samples hold no items"
        else:
            assert total == 0 and labels > 0, "a labels-only format reads labels and no items"

    def test_truncated_samples_raise_labelport_errors(self, tmp_path: Path) -> None:
        """A sample cut short reads or raises a LabelportError, never another exception.
        Fix: parse through ``labelport.io`` helpers and raise ``FormatError(file=, location=)``."""
        for sample in self.sample_paths():
            for k, target in enumerate(_annotation_files(sample, self.image_annotations)[:5]):
                copy = self._copy(sample, tmp_path / f"{sample.name}-{k}")
                victim = copy if copy.is_file() else copy / target.relative_to(sample)
                data = victim.read_bytes()
                for cut in (len(data) // 2, len(data) // 3, 1):
                    victim.write_bytes(data[:cut])
                    self._load_or_labelport_error(copy)

    def test_mutated_samples_raise_labelport_errors(self, tmp_path: Path) -> None:
        """Seeded mutations (bytes flipped, JSON keys deleted, types swapped) only ever raise
        LabelportError. Fix: check types and presence of every field you read."""
        rng = random.Random(1234)
        for sample in self.sample_paths():
            files = _annotation_files(sample, self.image_annotations)
            if not files:
                continue
            for case in range(self.fuzz_cases):
                copy = self._copy(sample, tmp_path / f"{sample.name}-{case}")
                target = rng.choice(files)
                victim = copy if copy.is_file() else copy / target.relative_to(sample)
                victim.write_bytes(mutate(victim.read_bytes(), rng))
                self._load_or_labelport_error(copy)
                shutil.rmtree(tmp_path / f"{sample.name}-{case}", ignore_errors=True)

    # ------------------------------------------------------------------ writing

    def test_samples_round_trip(self, tmp_path: Path) -> None:
        """read -> write -> read keeps everything the format declares it holds. Fix: the
        difference printed names the item and what changed."""
        self._writable()
        for sample in self.sample_paths():
            before = labelport.load(sample, format=self.format_name).materialize()
            out = tmp_path / f"{sample.name}-out"
            labelport.save(before, out, self.format_name, **self.write_options)
            after = labelport.load(out, format=self.format_name).materialize()
            problems = diff_datasets(before, after, self.info, tolerance=self.tolerance, ignore=set(self.roundtrip_ignore))
            assert not problems, f"{sample.name}:\n" + "\n".join(problems)

    def test_generated_datasets_round_trip(self, tmp_path: Path) -> None:
        """Hypothesis-generated datasets (only kinds and features the format declares) survive
        write -> read. Fix: the failing example is printed; narrow ``FormatInfo`` or fix the writer."""
        self._writable()
        from hypothesis import HealthCheck, given, settings

        from labelport.testing.strategies import datasets

        counter = iter(range(10**9))

        reduced = type(self).reduce_generated is not FormatConformance.reduce_generated

        @settings(max_examples=self.generated_examples, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
        @given(datasets(self.info, kinds=self.generated_kinds, integer=self.integer_coordinates))
        def check(ds: Dataset) -> None:
            ds = self.reduce_generated(ds)
            out = tmp_path / f"gen-{next(counter)}"
            report = labelport.save(ds, out, self.format_name, **self.write_options)
            if reduced:
                assert report.lossless, report
            after = labelport.load(out, format=self.format_name).materialize()
            problems = diff_datasets(ds, after, self.info, tolerance=self.tolerance, ignore=set(self.roundtrip_ignore))
            assert not problems, "\n".join(problems)

        check()

    def test_existing_target_is_never_clobbered(self, tmp_path: Path) -> None:
        """Saving onto an existing target without overwrite refuses and leaves it untouched;
        with overwrite it is replaced. (The core does this; a writer must write only into ``target``.)"""
        self._writable()
        sample = self.sample_paths()[0]
        ds = labelport.load(sample, format=self.format_name).materialize()
        target = tmp_path / "out"
        target.mkdir()
        (target / "keep.txt").write_text("precious")
        with pytest.raises(TargetExistsError):
            labelport.save(ds, target, self.format_name, **self.write_options)
        assert (target / "keep.txt").read_text() == "precious"
        labelport.save(ds, target, self.format_name, overwrite=True, **self.write_options)
        assert not (target / "keep.txt").exists()
        assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]

    def test_failed_write_leaves_nothing(self, tmp_path: Path) -> None:
        """A write that fails mid-way leaves the previous target untouched and no partial files.
        Fix: write only below the ``target`` the hook receives."""
        self._writable()
        sample = self.sample_paths()[0]
        ds = labelport.load(sample, format=self.format_name).materialize()
        items = list(ds)

        def failing() -> Iterator[Item]:
            yield from items[:1]
            raise OSError("disk full (simulated)")

        target = tmp_path / "out"
        target.mkdir()
        (target / "keep.txt").write_text("precious")
        with pytest.raises(OSError, match="simulated"):
            labelport.save(ds.with_items(failing), target, self.format_name, overwrite=True, **self.write_options)
        assert [p.name for p in target.iterdir()] == ["keep.txt"]
        assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]

    # ------------------------------------------------------------------ validation

    def test_samples_validate_clean(self) -> None:
        """The samples have no validation errors. Fix: the printed problems say where."""
        for sample in self.sample_paths():
            errors = [p for p in labelport.validate(sample, format=self.format_name) if p.severity == "error"]
            assert not errors, f"{sample.name}: " + "; ".join(map(str, errors))

    def test_validate_flags_corrupted_sample(self, tmp_path: Path) -> None:
        """A corrupted copy of a sample yields at least one located error. Fix: report read
        errors with file and location, or override ``corrupt`` to damage the sample meaningfully."""
        sample = self.sample_paths()[0]
        copy = self._copy(sample, tmp_path)
        self.corrupt(copy)
        errors = [p for p in labelport.validate(copy, format=self.format_name) if p.severity == "error"]
        assert errors, "validation found nothing wrong in a corrupted sample"
        assert all(p.file for p in errors), errors

    # ------------------------------------------------------------------ guard

    def test_kit_tests_are_not_overridden(self) -> None:
        """A subclass may not silently replace a kit test. Fix: list it in ``kit_overrides``
        with the reason."""
        for name in dir(FormatConformance):
            if not name.startswith("test_"):
                continue
            mine = getattr(type(self), name)
            if mine is not getattr(FormatConformance, name):
                assert name in self.kit_overrides, f"{name} is overridden without a reason in kit_overrides"


def mutate(data: bytes, rng: random.Random) -> bytes:
    """One random damaging edit: JSON-aware when the data parses as JSON."""
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError:
        doc = None
    if doc is not None and rng.random() < 0.6:
        _mutate_json(doc, rng)
        return orjson.dumps(doc)
    data = bytearray(data)
    if not data:
        return b"\xff"
    op = rng.randrange(4)
    if op == 0:
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] = rng.randrange(256)
    elif op == 1:
        i = rng.randrange(len(data))
        del data[i : i + rng.randint(1, 64)]
    elif op == 2:
        i = rng.randrange(len(data))
        data[i:i] = rng.choice([b"-1", b"nan", b"1e999", b"\x00", b'"', b"<", b",", b"\n", b"999999999999"])
    else:
        return bytes(data[: rng.randrange(len(data))])
    return bytes(data)


def _mutate_json(doc: Any, rng: random.Random) -> None:
    containers: list[Any] = []

    def walk(node: Any, depth: int) -> None:
        if depth > 6 or len(containers) > 2000:
            return
        if isinstance(node, (dict, list)) and node:
            containers.append(node)
            for v in node.values() if isinstance(node, dict) else node:
                walk(v, depth + 1)

    walk(doc, 0)
    if not containers:
        return
    node = rng.choice(containers)
    key = rng.choice(list(node)) if isinstance(node, dict) else rng.randrange(len(node))
    replacement = rng.choice([None, "text", -1, 1e308, [], {}, True, [1, 2], "nan", 0])
    if isinstance(node, dict) and rng.random() < 0.5:
        del node[key]
    else:
        node[key] = replacement
