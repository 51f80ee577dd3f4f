"""NIfTI-1 and NIfTI-2 segmentation volumes (``.nii``, ``.nii.gz``) with a companion ``labels.json``.

Specification: the NIfTI-1 header (``nifti1.h``, NIfTI Data Format Working Group) and its
NIfTI-2 successor (``nifti2.h``); files are read and written with nibabel. A label volume is
either a class-index volume (one channel, voxel = class id, 0 = background) or a one-hot
volume (one binary channel per class, channel ``c`` holding class id ``c``, channel 0 the
background; classes may overlap). ``labels.json`` beside the volumes lists the classes:
``[{"id": 1, "name": "liver", "color": [r, g, b]}]`` (``color`` optional; an
``{"1": "liver"}`` object is accepted too).

Layouts read: one ``.nii``/``.nii.gz`` file (a ``labels.json`` in its folder is used), or a
folder of them with ``labels.json`` at its top. Each volume is an item with volume media
(shape, voxel spacing, RAS+ affine; qform/sform and their codes, data type, byte order and
NIfTI version kept in metadata); each class present is one volume mask.
"""

from __future__ import annotations

import struct
import warnings
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import numpy as np
from labelport.errors import FormatError, LabelportError
from labelport.io.jsonio import JsonReader, dump_json, load_json
from labelport.io.media import safe_join
from labelport.plugin import (
    Detection,
    FormatInfo,
    OptionsBase,
    Probe,
    Problem,
    ReadOptions,
    Report,
    WriteOptions,
    hookimpl,
)
from labelport.schema import Dataset, Image, Item, Label, LabelSet, Volume, VolumeMask


class NiftiReadOptions(OptionsBase):
    """NIfTI reader options."""

    #: the labels file (default: ``labels.json`` at the top of the input)
    labels: Path | None = None
    #: refuse volumes with more distinct class ids than this (an intensity image is no label map)
    max_labels: int = 1000
    #: refuse volumes with more voxels than this (each class becomes a full-size mask)
    max_voxels: int = 2**31


class NiftiWriteOptions(OptionsBase):
    """NIfTI writer options."""

    #: ``index`` (one class id per voxel) or ``onehot`` (one binary channel per class id);
    #: default: the encoding each item was read with, else ``index``
    encoding: Literal["index", "onehot"] | None = None
    #: gzip the volumes (``.nii.gz``); default: as read, else True
    compress: bool | None = None
    #: NIfTI version 1 or 2; default: as read, else 1
    version: Literal[1, 2] | None = None


INFO = FormatInfo(
    name="nifti",
    title="NIfTI segmentation volumes",
    description="NIfTI-1/NIfTI-2 label volumes (class-index or one-hot) with a labels.json.",
    extensions=(".nii", ".nii.gz"),
    annotation_types=frozenset({"volume_mask"}),
    features=frozenset({"label_colors"}),
    media=frozenset({"volume"}),
    read_options=NiftiReadOptions,
    write_options=NiftiWriteOptions,
    docs_url="https://nifti.nimh.nih.gov/nifti-1",
)

LABELS_FILE = "labels.json"
_NIFTI1_MAGIC = b"n+1\x00"
_NIFTI2_MAGIC = b"n+2\x00\r\n\x1a\n"
_INTENT_LABEL = 1002  # NIFTI_INTENT_LABEL: voxel values are indices into a label table


# --------------------------------------------------------------------------- format info


@hookimpl
def labelport_format_info() -> FormatInfo:
    return INFO


# --------------------------------------------------------------------------- detect


@hookimpl
def labelport_detect(probe: Probe) -> Detection | None:
    """A single-file NIfTI header (``n+1`` / ``n+2`` magic) is unmistakable; a folder of them
    with a ``labels.json`` is this format's layout."""
    if not probe.is_dir:
        if probe.suffix not in (".nii", ".nii.gz"):
            return None
        version = _magic_version(probe.head(None, 4096), gz=probe.suffix == ".nii.gz")
        if version is None:
            return None
        return Detection(format="nifti", confidence=0.95, reason=f"NIfTI-{version} header")
    volumes = _volume_files(probe)
    checked = [v for v in volumes[:5] if _magic_version(probe.head(v, 4096), gz=v.lower().endswith(".gz"))]
    if not checked:
        return None
    with_labels = probe.has(LABELS_FILE)
    return Detection(
        format="nifti",
        confidence=0.95 if with_labels else 0.9,
        reason=f"{len(volumes)} NIfTI volumes" + (" and labels.json" if with_labels else ""),
    )


def _magic_version(head: bytes, *, gz: bool) -> int | None:
    """1 or 2 when ``head`` starts a single-file NIfTI header, else None."""
    if gz:
        try:
            head = zlib.decompressobj(zlib.MAX_WBITS | 16).decompress(head, 1024)
        except zlib.error:
            return None
    if len(head) < 348:
        return None
    for order in "<>":
        size = struct.unpack(order + "i", head[:4])[0]
        if size == 348 and head[344:348] == _NIFTI1_MAGIC:
            return 1
        if size == 540 and head[4:12] == _NIFTI2_MAGIC:
            return 2
    return None


def _volume_files(probe: Probe) -> list[str]:
    return sorted({*probe.files("**/*.nii"), *probe.files("**/*.nii.gz")})


# --------------------------------------------------------------------------- read


@hookimpl
def labelport_read(source: Path, options: ReadOptions) -> Dataset:
    opts: NiftiReadOptions = options.format_options or NiftiReadOptions()
    root, files = _layout(source)
    if not files:
        raise FormatError("no .nii or .nii.gz volumes found", file=source)
    labels_path = opts.labels if opts.labels is not None else root / LABELS_FILE
    declared, background = _read_labels(labels_path) if labels_path.is_file() else ({}, None)
    labels = LabelSet(declared.values())
    by_id = {lb.id: lb.name for lb in declared.values()}
    cache: dict[Path, tuple[Any, np.ndarray]] = {}
    if not declared:
        # Without a labels file the classes are only known from the voxels: scan them first
        # so that the dataset's labels are complete before any item is produced.
        for path in files:
            img, data = _load(path, opts)
            for class_id, _ in _class_ids(data, path, opts):
                _label_for(class_id, by_id, labels)
            cache.clear()
            cache[path] = (img, data)

    def items() -> Iterator[Item]:
        for path in files:
            img, data = cache.pop(path, None) or _load(path, opts)
            yield _item(path, root, img, data, by_id, labels, opts)

    info_meta = {"nifti": {"background": background}} if background else {}
    ds = Dataset(items, labels=labels)
    ds.info.metadata.update(info_meta)
    return ds


def _layout(source: Path) -> tuple[Path, list[Path]]:
    """The dataset root and its volume files."""
    if source.is_file():
        return source.parent, [source]
    probe = Probe(source)
    return source, [source / rel for rel in _volume_files(probe)]


def _read_labels(path: Path) -> tuple[dict[int, Label], str | None]:
    """Classes by id from ``labels.json`` and the name given to id 0 (background), if any."""
    doc = load_json(path)
    j = JsonReader(path)
    if isinstance(doc, dict) and "labels" in doc:
        doc = doc["labels"]
        prefix = "labels"
    else:
        prefix = ""
    entries: list[tuple[str, Any, Any, Any]] = []
    if isinstance(doc, dict):
        for key, name in doc.items():
            where = f"{prefix}.{key}" if prefix else key
            try:
                class_id = int(key)
            except ValueError:
                raise j.error(where, f"class id {key!r} is not an integer") from None
            entries.append((where, class_id, j.check(name, where, str), None))
    elif isinstance(doc, list):
        for i, entry in enumerate(doc):
            where = f"{prefix}[{i}]"
            class_id = j.get(entry, "id", where, int)
            name = j.get(entry, "name", where, str)
            color = j.get(entry, "color", where, list, required=False)
            entries.append((where, class_id, name, color))
    else:
        raise j.error(prefix or "$", "expected a list of {id, name} objects")
    out: dict[int, Label] = {}
    names: set[str] = set()
    background = None
    for where, class_id, name, color in entries:
        if class_id < 0:
            raise j.error(where, f"class id {class_id} is negative")
        if class_id == 0:
            background = name  # 0 is the background of every label volume, not a class
            continue
        if class_id in out:
            raise j.error(where, f"class id {class_id} is listed twice")
        if not name or name in names:
            raise j.error(where, f"class name {name!r} is empty or listed twice")
        rgb = None
        if color is not None:
            values = j.numbers(color, f"{where}.color", length=3)
            if any(not 0 <= v <= 255 or int(v) != v for v in values):
                raise j.error(f"{where}.color", "colour components must be integers 0..255")
            rgb = (int(values[0]), int(values[1]), int(values[2]))
        names.add(name)
        out[class_id] = Label(name=name, id=class_id, color=rgb)
    return out, background


_LOAD_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    EOFError,
    ValueError,
    TypeError,
    IndexError,
    KeyError,
    OverflowError,
    MemoryError,
    AttributeError,
    zlib.error,
    struct.error,
)


def _load(path: Path, opts: NiftiReadOptions) -> tuple[Any, np.ndarray]:
    """The nibabel image and its voxels in their stored type (scaled only when the header asks)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nibabel warns about odd header fields; the checks below decide
        return _load_quietly(path, opts)


def _load_quietly(path: Path, opts: NiftiReadOptions) -> tuple[Any, np.ndarray]:
    import nibabel as nib
    from nibabel.filebasedimages import ImageFileError
    from nibabel.spatialimages import HeaderDataError

    errors = (*_LOAD_ERRORS, ImageFileError, HeaderDataError)
    try:
        img = nib.load(str(path), mmap=False)
    except errors as exc:
        raise FormatError(f"cannot read NIfTI header: {exc}", file=path, location="header") from None
    if not isinstance(img, nib.Nifti1Image):  # Nifti2Image derives from Nifti1Image
        raise FormatError(f"not a single-file NIfTI volume ({type(img).__name__})", file=path, location="header")
    try:
        shape = tuple(int(n) for n in img.header.get_data_shape())
    except errors as exc:
        raise FormatError(f"invalid dimensions: {exc}", file=path, location="header.dim") from None
    if not shape or any(n <= 0 for n in shape):
        raise FormatError(f"invalid dimensions {shape}", file=path, location="header.dim")
    if int(np.prod(shape, dtype=np.float64)) > opts.max_voxels:
        raise FormatError(
            f"volume of {shape} voxels exceeds max_voxels={opts.max_voxels}", file=path, location="header.dim"
        )
    try:
        data = np.asanyarray(img.dataobj.get_unscaled())
        slope, inter = img.header.get_slope_inter()
    except errors as exc:
        raise FormatError(f"cannot read voxel data: {exc}", file=path, location="data") from None
    if data.dtype.fields is not None or data.dtype.kind not in "biuf":
        raise FormatError(f"voxel type {data.dtype} cannot hold class ids", file=path, location="header.datatype")
    if slope is not None and (slope != 1 or (inter or 0) != 0):
        # a label map is not expected to be scaled, but the header says how to read it
        data = data * slope + (inter or 0)
    return img, data


def _class_ids(data: np.ndarray, path: Path, opts: NiftiReadOptions) -> list[tuple[int, int]]:
    """``(class id, channel)`` pairs present in a volume: channel -1 for class-index volumes."""
    encoding, vol = _encoding(data, path)
    if encoding == "onehot":
        return [(c, c) for c in range(1, vol.shape[3]) if vol[..., c].any()]
    values = _present_values(vol, path)
    if len(values) > opts.max_labels:
        raise FormatError(
            f"{len(values)} distinct voxel values: an intensity image rather than a label volume "
            f"(raise max_labels to read it anyway)",
            file=path,
            location="data",
        )
    return [(v, -1) for v in values]


def _encoding(data: np.ndarray, path: Path) -> tuple[str, np.ndarray]:
    """``("index", xyz volume)`` or ``("onehot", xyzc volume)``."""
    if data.ndim == 5 and data.shape[3] == 1:
        data = data[:, :, :, 0, :]  # the NIfTI vector convention: components in dim 5
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    if data.ndim == 2:
        data = data[:, :, None]
    if data.ndim == 1:
        data = data[:, None, None]
    if data.ndim == 3:
        return "index", data
    if data.ndim != 4:
        raise FormatError(f"{data.ndim}-D volume is no label volume", file=path, location="header.dim")
    if data.dtype.kind == "b" or not np.any((data != 0) & (data != 1)):
        return "onehot", data
    raise FormatError(
        f"4-D volume with {data.shape[3]} channels holds values other than 0 and 1: not a one-hot label volume",
        file=path,
        location="data",
    )


def _present_values(vol: np.ndarray, path: Path) -> list[int]:
    """Non-zero class ids present in a class-index volume."""
    if vol.size == 0:
        return []
    if vol.dtype.kind == "f" and not (np.isfinite(vol).all() and np.array_equal(vol, np.round(vol))):
        raise FormatError("voxel values are not whole numbers: not a class-index volume", file=path, location="data")
    lo, hi = vol.min(), vol.max()
    if lo < 0:
        raise FormatError(
            f"negative voxel value {lo:g}: class ids are 0 (background) or positive", file=path, location="data"
        )
    if hi >= 2**31:
        raise FormatError(f"voxel value {hi:g} is too large for a class id", file=path, location="data")
    if hi >= 1 << 20:
        return [int(v) for v in np.unique(vol) if v != 0]
    # counting in chunks keeps the integer copy bincount needs small for large volumes
    flat = vol.ravel(order="K")
    counts = np.zeros(int(hi) + 1, dtype=np.int64)
    for start in range(0, flat.size, 1 << 22):
        counts += np.bincount(flat[start : start + (1 << 22)].astype(np.intp), minlength=int(hi) + 1)
    return [int(v) for v in np.flatnonzero(counts) if v != 0]


def _label_for(class_id: int, by_id: dict[int, str], labels: LabelSet) -> str:
    name = by_id.get(class_id)
    if name is None:
        name = str(class_id)
        if name in labels:  # a declared class is already called like this id
            name = f"class_{class_id}"
        by_id[class_id] = name
        labels.add(Label(name=name, id=class_id))
    return name


def _item(
    path: Path, root: Path, img: Any, data: np.ndarray, by_id: dict[int, str], labels: LabelSet, opts: NiftiReadOptions
) -> Item:
    hdr = img.header
    rel = path.relative_to(root).as_posix() if path != root else path.name
    ext = ".nii.gz" if rel.lower().endswith(".nii.gz") else ".nii"
    item_id = rel[: -len(ext)]
    affine = np.asarray(img.affine, dtype=np.float64)
    try:
        zooms = tuple(float(z) for z in hdr.get_zooms()[:3])
    except _LOAD_ERRORS as exc:
        raise FormatError(f"invalid voxel sizes: {exc}", file=path, location="header.pixdim") from None
    if not np.isfinite(affine).all() or not all(np.isfinite(zooms)):
        raise FormatError("the voxel-to-world transform is not finite", file=path, location="header.srow_x")
    encoding, vol = _encoding(data, path)
    shape = tuple(int(n) for n in vol.shape[:3])
    annotations = []
    for class_id, channel in _class_ids(data, path, opts):
        mask = vol[..., channel] != 0 if channel >= 0 else vol == class_id
        annotations.append(VolumeMask(label=_label_for(class_id, by_id, labels), data=mask))
    # both matrices as stored, whatever their codes: a write restores the header as it was
    header_meta = {
        "qform_code": int(hdr["qform_code"]),
        "sform_code": int(hdr["sform_code"]),
        "qform": _matrix(img.get_qform),
        "sform": _matrix(img.get_sform),
        "xyzt_units": int(hdr["xyzt_units"]),
        "intent_code": int(hdr["intent_code"]),
        "descrip": _text(hdr["descrip"]),
    }
    media = Volume(name=rel, shape=shape, spacing=zooms, affine=affine.tolist(), metadata={"nifti": header_meta})
    item_meta = {
        "file": rel,
        "encoding": encoding,
        "version": 2 if type(img).__name__ == "Nifti2Image" else 1,
        "dtype": np.dtype(hdr.get_data_dtype()).newbyteorder("=").name,
        "byteorder": hdr.endianness,
    }
    if encoding == "onehot":
        item_meta["channels"] = int(vol.shape[3])
    return Item(id=item_id, media=media, annotations=annotations, metadata={"nifti": item_meta})


def _matrix(getter: Any) -> list[list[float]] | None:
    try:
        m = np.asarray(getter(), dtype=np.float64)
    except _LOAD_ERRORS:
        return None
    return m.tolist() if m.shape == (4, 4) and np.isfinite(m).all() else None


def _text(value: Any) -> str:
    raw = value.item() if hasattr(value, "item") else value
    if isinstance(raw, bytes):
        return raw.split(b"\x00", 1)[0].decode("latin-1")
    return str(raw)


# --------------------------------------------------------------------------- write


@hookimpl
def labelport_write(dataset: Dataset, target: Path, options: WriteOptions, report: Report) -> bool:
    opts: NiftiWriteOptions = options.format_options or NiftiWriteOptions()
    target.mkdir(parents=True, exist_ok=True)
    ids = _ClassIds(dataset.labels)
    used_files: set[str] = set()
    for item in dataset:
        _write_item(item, target, ids, opts, report, used_files)
    background = (dataset.info.metadata.get("nifti") or {}).get("background")
    (target / LABELS_FILE).write_bytes(dump_json(ids.to_json(dataset.labels, background), indent=True))
    return True


class _ClassIds:
    """Class id per label name: each label's own positive id when it is free, else the next free one."""

    def __init__(self, labels: LabelSet):
        self.ids: dict[str, int] = {}
        for lb in labels:
            if isinstance(lb.id, int) and lb.id > 0 and lb.id not in self.ids.values():
                self.ids[lb.name] = lb.id
        for lb in labels:
            self.get(lb.name)

    def get(self, name: str) -> int:
        if name not in self.ids:
            used = set(self.ids.values())
            nxt = 1
            while nxt in used:
                nxt += 1
            self.ids[name] = nxt
        return self.ids[name]

    def to_json(self, labels: LabelSet, background: str | None) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = [{"id": 0, "name": background}] if background else []
        for name, class_id in sorted(self.ids.items(), key=lambda kv: kv[1]):
            entry: dict[str, Any] = {"id": class_id, "name": name}
            lb = labels.get(name)
            if lb is not None and lb.color is not None:
                entry["color"] = list(lb.color)
            out.append(entry)
        return out


def _write_item(
    item: Item, target: Path, ids: _ClassIds, opts: NiftiWriteOptions, report: Report, used: set[str]
) -> None:
    import nibabel as nib

    meta = item.metadata.get("nifti") or {}
    vol = item.media if isinstance(item.media, Volume) else None
    masks = [a for a in item.annotations if a.type == "volume_mask"]
    shape, affine = _grid(item, vol, masks, report)
    header_meta = (vol.metadata.get("nifti") if vol else None) or {}

    by_label: dict[str, np.ndarray] = {}
    for ann in masks:
        if ann.data.shape != shape:
            report.loss("volume mask", f"dropped (shape {ann.data.shape} differs from the volume grid {shape})")
            continue
        if ann.label is None:
            report.loss("unlabelled volume mask", "dropped (a label volume stores class ids)")
            continue
        if not ann.data.any():
            report.loss("empty volume mask", "dropped (a label volume only holds the classes present)")
            continue
        # NIfTI stores voxels in Fortran order: one memory order for every array keeps the
        # element-wise work below sequential (mixed orders make it many times slower)
        data = np.asfortranarray(ann.data)
        if ann.label in by_label:
            report.loss("volume mask of a label already present", "merged into one class mask")
            by_label[ann.label] = by_label[ann.label] | data
        else:
            by_label[ann.label] = data
    class_ids = {name: ids.get(name) for name in by_label}

    encoding = opts.encoding or meta.get("encoding") or "index"
    max_id = max([0, *class_ids.values()])
    if encoding == "onehot":
        channels = max(max_id + 1, int(meta.get("channels") or 0), 2)
        out = np.zeros((*shape, channels), dtype=_dtype(meta.get("dtype"), 1), order="F")
        for name, mask in by_label.items():
            out[..., class_ids[name]][mask] = 1
        out[..., 0] = ~out[..., 1:].any(axis=-1)
    else:
        out = np.zeros(shape, dtype=_dtype(meta.get("dtype"), max_id), order="F")
        painted = np.zeros(shape, dtype=bool, order="F")
        overlap = 0
        for name, mask in by_label.items():
            overlap += int(np.count_nonzero(painted & mask))
            out[mask] = class_ids[name]
            painted |= mask
        if overlap:
            report.loss(
                "overlapping voxels",
                "kept the class painted last (a class-index volume holds one class per voxel)",
                overlap,
            )

    version = opts.version or meta.get("version") or 1
    image_cls, header_cls = (nib.Nifti2Image, nib.Nifti2Header) if version == 2 else (nib.Nifti1Image, nib.Nifti1Header)
    byteorder = meta.get("byteorder") if meta.get("byteorder") in ("<", ">") else "<"
    img = image_cls(out, affine, header=header_cls(endianness=byteorder))
    img.set_data_dtype(out.dtype)
    _set_orientation(img, affine, header_meta)
    hdr = img.header
    hdr["xyzt_units"] = header_meta.get("xyzt_units", 2)  # 2 = millimetres
    intent = header_meta.get("intent_code")
    hdr["intent_code"] = intent if isinstance(intent, int) else (_INTENT_LABEL if encoding == "index" else 0)
    descrip = header_meta.get("descrip")
    if isinstance(descrip, str) and len(descrip.encode("latin-1", "replace")) < 80:
        hdr["descrip"] = descrip.encode("latin-1", "replace")

    compress = opts.compress if opts.compress is not None else not str(meta.get("file", ".gz")).lower().endswith(".nii")
    ext = ".nii.gz" if compress else ".nii"
    rel = item.id + ext
    n = 1
    while rel.lower() in used:
        rel = f"{item.id}_{n}{ext}"
        n += 1
    if n > 1:
        report.warn(f"item {item.id!r} written as {rel} (another item has the same id)")
    used.add(rel.lower())
    path = safe_join(target, rel)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        nib.save(img, str(path))
    except (ValueError, TypeError) as exc:
        raise LabelportError(f"cannot write item {item.id!r}: {exc}", file=path) from None


def _grid(item: Item, vol: Volume | None, masks: list[Any], report: Report) -> tuple[tuple[int, int, int], np.ndarray]:
    """The voxel grid to write an item on: its volume, else its masks' shape, else its image."""
    if vol is not None:
        shape = tuple(int(n) for n in vol.shape[:3])
        shape = (shape + (1, 1, 1))[:3]
        if vol.affine is not None:
            return shape, np.asarray(vol.affine, dtype=np.float64)  # type: ignore[return-value]
        spacing = (tuple(vol.spacing or ()) + (1.0, 1.0, 1.0))[:3]
        return shape, np.diag([*spacing, 1.0])  # type: ignore[return-value]
    if masks:
        return tuple(masks[0].data.shape), np.eye(4)  # type: ignore[return-value]
    if isinstance(item.media, Image) and item.media.width and item.media.height:
        size = f"{item.media.width}x{item.media.height}x1"
        report.note(f"item {item.id!r} has an image, no volume: written as an empty {size} label volume")
        return (item.media.width, item.media.height, 1), np.eye(4)
    report.note(f"item {item.id!r} has no volume: written as an empty 1x1x1 label volume")
    return (1, 1, 1), np.eye(4)


def _dtype(stored: Any, max_value: int) -> np.dtype:
    """The stored voxel type when it holds ``max_value``, else the smallest unsigned one that does."""
    if isinstance(stored, str):
        try:
            dt = np.dtype(stored)
        except TypeError:
            dt = None
        if dt is not None and dt.kind in "iu" and np.iinfo(dt).max >= max_value:
            return dt
        if dt is not None and dt.kind == "f" and max_value < 2 ** (np.finfo(dt).nmant + 1):
            return dt
    for dt in (np.uint8, np.uint16, np.uint32):
        if np.iinfo(dt).max >= max_value:
            return np.dtype(dt)
    return np.dtype(np.int64)


def _set_orientation(img: Any, affine: np.ndarray, meta: dict[str, Any]) -> None:
    """Restore the qform and sform (with their codes) the volume was read with, when they still
    describe its affine; otherwise store the affine in both as scanner coordinates."""
    qform, sform = meta.get("qform"), meta.get("sform")
    qcode, scode = meta.get("qform_code"), meta.get("sform_code")
    if isinstance(qcode, int) and isinstance(scode, int):
        best = sform if scode > 0 else qform if qcode > 0 else None
        if best is None or np.allclose(np.asarray(best, dtype=np.float64), affine, atol=1e-4):
            img.set_qform(np.asarray(qform if qform is not None else affine, dtype=np.float64), code=qcode)
            img.set_sform(np.asarray(sform if sform is not None else affine, dtype=np.float64), code=scode)
            return
    img.set_qform(affine, code=1)
    img.set_sform(affine, code=1)


# --------------------------------------------------------------------------- validate


@hookimpl
def labelport_validate(source: Path, options: ReadOptions) -> list[Problem]:
    """Volumes without orientation, voxel values missing from labels.json, labels.json entries never used."""
    opts: NiftiReadOptions = options.format_options or NiftiReadOptions()
    root, files = _layout(source)
    labels_path = opts.labels if opts.labels is not None else root / LABELS_FILE
    declared, _ = _read_labels(labels_path) if labels_path.is_file() else ({}, None)
    problems: list[Problem] = []
    for path in files:
        img, data = _load(path, opts)
        if int(img.header["qform_code"]) == 0 and int(img.header["sform_code"]) == 0:
            problems.append(
                Problem(
                    severity="warning",
                    file=str(path),
                    location="header.qform_code",
                    message="qform_code and sform_code are 0: the orientation in the scanner is unknown",
                )
            )
        if declared:
            for class_id, _ in _class_ids(data, path, opts):
                if class_id not in declared:
                    problems.append(
                        Problem(
                            severity="warning",
                            file=str(path),
                            location="data",
                            message=f"class id {class_id} is not listed in {labels_path.name}",
                        )
                    )
    return problems
