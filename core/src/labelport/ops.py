"""Dataset operations shared by every format: filter, shuffle, split, merge, remap.

All are deterministic given a seed, item-level (an item's annotations are never split
apart), and keep streamed datasets streamed where the operation allows it.
"""

from __future__ import annotations

import fnmatch
import math
import random
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, datetime
from typing import Any

from labelport.errors import OptionsError
from labelport.schema import Dataset, Item, LabelSet

# --------------------------------------------------------------------------- split ratios


def parse_split(spec: str | float | dict[str, float] | None) -> dict[str, float] | None:
    """``"train=0.7,val=0.2,test=0.1"``, a dict, or a single ratio ``0.3`` (the test share of a
    train/test split; 0 means everything in one set). Ratios must be >= 0 and sum to 1."""
    if spec is None or spec == "":
        return None
    if isinstance(spec, (int, float)) or (isinstance(spec, str) and re.fullmatch(r"\s*[\d.]+\s*", spec)):
        ratio = float(spec)
        if not 0 <= ratio < 1:
            raise OptionsError(f"split ratio {spec} must be in [0, 1)")
        return {"train": 1.0} if ratio == 0 else {"train": 1 - ratio, "test": ratio}
    if isinstance(spec, str):
        out: dict[str, float] = {}
        for part in spec.split(","):
            name, sep, value = part.partition("=")
            try:
                out[name.strip()] = float(value)
            except ValueError:
                raise OptionsError(f"split {spec!r}: expected NAME=RATIO pairs separated by commas") from None
            if not sep or not name.strip():
                raise OptionsError(f"split {spec!r}: expected NAME=RATIO pairs separated by commas")
        spec = out
    ratios = {str(k): float(v) for k, v in dict(spec).items()}
    if any(v < 0 for v in ratios.values()) or not math.isclose(sum(ratios.values()), 1.0, abs_tol=1e-6):
        raise OptionsError(f"split ratios {ratios} must be non-negative and sum to 1")
    return ratios


def _quotas(total: int, ratios: dict[str, float]) -> dict[str, int]:
    """Whole counts per subset summing to ``total`` (largest remainder)."""
    exact = {k: total * r for k, r in ratios.items()}
    counts = {k: int(math.floor(v)) for k, v in exact.items()}
    for k in sorted(ratios, key=lambda k: (-(exact[k] - counts[k]), list(ratios).index(k)))[: total - sum(counts.values())]:
        counts[k] += 1
    return counts


def assign_subsets(
    keys: Sequence[Any], labels: Sequence[set[str]], ratios: dict[str, float], *, seed: int = 0, stratify: bool = False
) -> list[str]:
    """A subset name per key. Plain: shuffled with ``seed`` and cut by ratio. Stratified:
    iterative stratification (rarest label first, each item to the subset that most lacks
    that label), so every label's items are split by the ratios within about one item."""
    rng = random.Random(seed)
    n = len(keys)
    order = list(range(n))
    rng.shuffle(order)
    names = list(ratios)
    result: list[str | None] = [None] * n
    if not stratify:
        quotas = _quotas(n, ratios)
        pos = 0
        for name in names:
            for idx in order[pos : pos + quotas[name]]:
                result[idx] = name
            pos += quotas[name]
        return [r or names[0] for r in result]
    per_label: dict[str, list[int]] = defaultdict(list)
    for idx in order:
        for lb in sorted(labels[idx]):
            per_label[lb].append(idx)
    desired_label = {lb: {s: ratios[s] * len(ix) for s in names} for lb, ix in per_label.items()}
    desired_total = {s: ratios[s] * n for s in names}
    remaining = dict(per_label)
    while remaining:
        lb = min(remaining, key=lambda k: (sum(1 for i in remaining[k] if result[i] is None), k))
        for idx in remaining.pop(lb):
            if result[idx] is not None:
                continue
            best = max(names, key=lambda s: (desired_label[lb][s], desired_total[s], -names.index(s)))
            result[idx] = best
            desired_total[best] -= 1
            for other in labels[idx]:
                desired_label[other][best] -= 1
    for idx in order:  # items without labels
        if result[idx] is None:
            best = max(names, key=lambda s: (desired_total[s], -names.index(s)))
            result[idx] = best
            desired_total[best] -= 1
    return [r for r in result]  # type: ignore[misc]


def split(dataset: Dataset, ratios: str | float | dict[str, float], *, seed: int = 0, stratify: bool = False) -> Dataset:
    """The dataset with every item's subset reassigned by ``ratios`` (see :func:`parse_split`).
    Two passes over a streamed dataset: one to count labels, one to write."""
    parsed = parse_split(ratios)
    if parsed is None:
        return dataset
    keys, labels = [], []
    for item in dataset:
        keys.append((item.subset, item.id))
        labels.append({a.label for a in item.annotations if a.label is not None})
    subsets = dict(zip(keys, assign_subsets(keys, labels, parsed, seed=seed, stratify=stratify)))

    def items() -> Iterator[Item]:
        for item in dataset:
            yield item.model_copy(update={"subset": subsets[(item.subset, item.id)]})

    return dataset.with_items(items)


def shuffle(dataset: Dataset, *, seed: int = 0) -> Dataset:
    """The items in a reproducible random order (reads them all into memory)."""
    items = list(dataset)
    random.Random(seed).shuffle(items)
    return dataset.with_items(items)


# --------------------------------------------------------------------------- filters

_FILTER = re.compile(r"^\s*([A-Za-z_][\w.\-]*)\s*(!=|>=|<=|=|~|>|<| in )\s*(.*?)\s*$")
_ITEM_KEYS = {"subset", "id", "date"}
_ANN_KEYS = {"label", "type"}
_DATE_KEYS = ("date", "date_captured", "created", "created_at", "timestamp", "captured_at")


class Filter:
    """One filter expression: ``KEY OP VALUE``.

    Keys: ``label``, ``type`` (annotation kind), ``attr.NAME`` (annotation attribute) keep
    matching annotations; ``subset``, ``id``, ``item.NAME`` (item attribute) and ``date``
    (the item's date from its attributes or metadata) keep matching items. Operators:
    ``=`` ``!=`` ``~`` (glob) ``>`` ``>=`` ``<`` ``<=`` and ``in`` (comma-separated values).
    """

    def __init__(self, expr: str):
        m = _FILTER.match(expr)
        if not m:
            raise OptionsError(f"filter {expr!r}: expected KEY OP VALUE, e.g. label=cat, subset!=test, date>=2024-01-01")
        self.expr = expr
        self.key, self.op, raw = m.group(1), m.group(2).strip(), m.group(3)
        if not (self.key in _ITEM_KEYS | _ANN_KEYS or self.key.startswith(("attr.", "item."))):
            raise OptionsError(f"filter {expr!r}: unknown key {self.key!r} (label, type, attr.NAME, subset, id, item.NAME, date)")
        self.values = [v.strip() for v in raw.split(",")] if self.op == "in" else [raw]
        self.scope = "annotation" if self.key in _ANN_KEYS or self.key.startswith("attr.") else "item"
        if self.key == "date":
            self.values = [_parse_date(v, expr) for v in self.values]  # type: ignore[misc]

    def _match(self, value: Any) -> bool:
        if value is None:
            return self.op == "!="
        if self.op == "in":
            return _text(value) in self.values
        target = self.values[0]
        if self.op == "~":
            return fnmatch.fnmatchcase(_text(value), target)
        if self.op in ("=", "!="):
            return (_text(value) == target) == (self.op == "=")
        left, right = (value, target) if isinstance(value, (date, datetime)) else _ordered(value, target)
        try:
            return {">": left > right, ">=": left >= right, "<": left < right, "<=": left <= right}[self.op]
        except TypeError:
            return False

    def keeps_item(self, item: Item) -> bool:
        if self.key == "subset":
            return self._match(item.subset or "default")
        if self.key == "id":
            return self._match(item.id)
        if self.key == "date":
            return self._match(_item_date(item))
        return self._match(item.attributes.get(self.key[5:], item.metadata.get(self.key[5:])))

    def keeps_annotation(self, ann: Any) -> bool:
        if self.key == "label":
            return self._match(ann.label)
        if self.key == "type":
            return self._match(ann.type)
        return self._match(ann.attributes.get(self.key[5:]))


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _ordered(value: Any, target: str) -> tuple[Any, Any]:
    try:
        return float(value), float(target)
    except (TypeError, ValueError):
        return _text(value), target


def _parse_date(text: str, expr: str) -> datetime:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).replace(tzinfo=None)
    except ValueError:
        raise OptionsError(f"filter {expr!r}: {text!r} is not a date (YYYY-MM-DD[THH:MM:SS])") from None


def _item_date(item: Item) -> datetime | None:
    for source in (item.attributes, item.metadata, item.metadata.get("coco_extra") or {}):
        for key in _DATE_KEYS:
            value = source.get(key)
            if value in (None, "", 0):
                continue
            if isinstance(value, (int, float)):
                return datetime.utcfromtimestamp(value)
            try:
                return datetime.fromisoformat(str(value).replace("Z", "+00:00").replace("/", "-")).replace(tzinfo=None)
            except ValueError:
                continue
    return None


def filter_dataset(dataset: Dataset, filters: Iterable[str | Filter], *, keep_empty: bool = True) -> Dataset:
    """Keep items and annotations matching every filter (streamed). Items whose annotations
    were all filtered out are kept unless ``keep_empty`` is False."""
    parsed = [f if isinstance(f, Filter) else Filter(f) for f in filters]
    if not parsed:
        return dataset
    item_filters = [f for f in parsed if f.scope == "item"]
    ann_filters = [f for f in parsed if f.scope == "annotation"]

    def items() -> Iterator[Item]:
        for item in dataset:
            if not all(f.keeps_item(item) for f in item_filters):
                continue
            if ann_filters:
                anns = [a for a in item.annotations if all(f.keeps_annotation(a) for f in ann_filters)]
                if not anns and not keep_empty and item.annotations:
                    continue
                if len(anns) != len(item.annotations):
                    item = item.model_copy(update={"annotations": anns})
            yield item

    return dataset.with_items(items)


# --------------------------------------------------------------------------- merge and remap


def merge(datasets: Sequence[Dataset], *, update: bool = False) -> Dataset:
    """One dataset from several: labels unified by name, items matched by subset and id,
    annotations deduplicated by id (an annotation without one gets its derived id, so
    importing the same annotations twice adds nothing). ``update`` replaces annotations
    that share an id instead of keeping the first."""
    labels = LabelSet()
    for ds in datasets:
        for lb in ds.labels:
            labels.add(lb)
    items: dict[tuple[str | None, str], Item] = {}
    anns_by_item: dict[tuple[str | None, str], dict[Any, Any]] = {}
    for ds in datasets:
        for item in ds:
            key = (item.subset, item.id)
            if key not in items:
                items[key] = item
                anns_by_item[key] = {}
            elif item.media is not None and items[key].media is None:
                items[key] = item.model_copy(update={"annotations": items[key].annotations})
            bucket = anns_by_item[key]
            for ann in item.annotations:
                aid = ann.id if ann.id is not None else ann.derived_id()
                if aid not in bucket or update:
                    bucket[aid] = ann if ann.id is not None else ann.model_copy(update={"id": aid})
                if ann.label is not None and ann.label not in labels:
                    labels.add(ann.label)
    merged = [items[k].model_copy(update={"annotations": list(anns_by_item[k].values())}) for k in items]
    first = datasets[0] if datasets else Dataset()
    out = Dataset(merged, info=first.info, labels=labels, taxonomies=[t for d in datasets for t in d.taxonomies])
    for ds in datasets:
        out._resources.extend(ds._resources)
    return out


def parse_mapping(pairs: Iterable[str]) -> dict[str, str | None]:
    """``old=new`` pairs (``old=`` deletes the label)."""
    mapping: dict[str, str | None] = {}
    for pair in pairs:
        old, sep, new = pair.partition("=")
        if not sep or not old.strip():
            raise OptionsError(f"label mapping {pair!r}: expected OLD=NEW (or OLD= to delete)")
        mapping[old.strip()] = new.strip() or None
    return mapping


def remap(dataset: Dataset, mapping: dict[str, str | None], *, default: str = "keep") -> Dataset:
    """Rename labels (several old names may map to one new name, merging them), delete labels
    mapped to None (with their annotations); labels not in ``mapping`` are kept, or deleted
    when ``default="delete"``."""
    if default not in ("keep", "delete"):
        raise OptionsError("remap default must be 'keep' or 'delete'")

    def target(name: str | None) -> str | None:
        if name is None:
            return None
        if name in mapping:
            return mapping[name]
        return name if default == "keep" else None

    labels = LabelSet()
    for lb in dataset.labels:
        new = target(lb.name)
        if new is not None and new not in labels:
            parent = target(lb.parent) if lb.parent else None
            labels.add(lb.model_copy(update={"name": new, "parent": parent}) if new != lb.name or parent != lb.parent else lb)

    def items() -> Iterator[Item]:
        for item in dataset:
            anns = []
            changed = False
            for ann in item.annotations:
                new = target(ann.label)
                if ann.label is not None and new is None:
                    changed = True
                    continue
                if new != ann.label:
                    ann = ann.model_copy(update={"label": new})
                    changed = True
                anns.append(ann)
            yield item.model_copy(update={"annotations": anns}) if changed else item

    out = Dataset(items, info=dataset.info, labels=labels, taxonomies=dataset.taxonomies, format=dataset.format)
    out._resources = dataset._resources
    return out


def label_counts(dataset: Dataset) -> Counter[str]:
    return Counter(a.label for item in dataset for a in item.annotations if a.label is not None)


def transform(dataset: Dataset, fn: Callable[[Item], Item | None]) -> Dataset:
    """Apply ``fn`` to every item (streamed); items for which it returns None are dropped."""

    def items() -> Iterator[Item]:
        for item in dataset:
            out = fn(item)
            if out is not None:
                yield out

    return dataset.with_items(items)


__all__ = [
    "Filter",
    "assign_subsets",
    "filter_dataset",
    "label_counts",
    "merge",
    "parse_mapping",
    "parse_split",
    "remap",
    "shuffle",
    "split",
    "transform",
]
