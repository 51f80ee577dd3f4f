"""The canonical annotation schema every format converts to and from.

Coordinates are float pixels with a top-left origin. Labels are referred to by
name; a label's original id in its source format (COCO category id, YOLO class
index) is kept on the :class:`Label` so a round trip restores it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from typing import Annotated, Any, Literal, Union

import numpy as np
import orjson
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PrivateAttr,
    WithJsonSchema,
    field_validator,
)


class Model(BaseModel):
    """Base of every schema model: unknown fields are an error, assignment is validated."""

    model_config = ConfigDict(extra="forbid", validate_assignment=False, arbitrary_types_allowed=True)


# --------------------------------------------------------------------------- categories

AttributeType = Literal["select", "int", "float", "bool", "text"]


class AttributeDef(Model):
    """The declaration of one annotation attribute: its input type, values and default."""

    name: str
    type: AttributeType = "text"
    values: list[Any] = Field(default_factory=list)
    default: Any = None
    mutable: bool = False
    metadata: dict[str, Any] = Field(default_factory=dict)


class Skeleton(Model):
    """Keypoint layout of a label: point names in order and 0-based edges between them."""

    points: list[str]
    edges: list[tuple[int, int]] = Field(default_factory=list)
    flip_pairs: list[tuple[int, int]] = Field(default_factory=list)

    @field_validator("edges", "flip_pairs")
    @classmethod
    def _in_range(cls, pairs: list[tuple[int, int]], info: Any) -> list[tuple[int, int]]:
        n = len(info.data.get("points", []))
        for a, b in pairs:
            if not (0 <= a < n and 0 <= b < n):
                raise ValueError(f"edge ({a}, {b}) refers to a point outside 0..{n - 1}")
        return pairs


class Label(Model):
    """A label category. ``id`` is the format's own id for it, when it has one."""

    name: str
    id: int | None = None
    parent: str | None = None
    color: tuple[int, int, int] | None = None
    attributes: list[AttributeDef] = Field(default_factory=list)
    skeleton: Skeleton | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


class Taxonomy(Model):
    """A named set of classification labels (Scale Nucleus taxonomies, label groups)."""

    name: str
    labels: list[str]
    kind: Literal["category", "scene"] = "category"


class Info(Model):
    """Dataset-level description."""

    name: str | None = None
    description: str | None = None
    version: str | None = None
    licenses: list[dict[str, Any]] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)


class LabelSet:
    """Ordered labels with lookup by name. Grows when a streamed item names a new label."""

    def __init__(self, labels: Iterable[Label] = ()):
        self._by_name: dict[str, Label] = {}
        for label in labels:
            self.add(label)

    def add(self, label: Label | str) -> Label:
        """Add a label (or a name); an existing label of the same name is returned unchanged."""
        if isinstance(label, str):
            label = Label(name=label)
        return self._by_name.setdefault(label.name, label)

    def get(self, name: str) -> Label | None:
        return self._by_name.get(name)

    def __getitem__(self, name: str) -> Label:
        return self._by_name[name]

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __iter__(self) -> Iterator[Label]:
        return iter(list(self._by_name.values()))

    def __len__(self) -> int:
        return len(self._by_name)

    def names(self) -> list[str]:
        return list(self._by_name)

    def __repr__(self) -> str:
        return f"LabelSet({self.names()!r})"


# --------------------------------------------------------------------------- arrays


def _to_array(value: Any) -> np.ndarray:
    return value if isinstance(value, np.ndarray) else np.asarray(value)


NDArray = Annotated[
    np.ndarray,
    BeforeValidator(_to_array),
    PlainSerializer(lambda a: a.tolist(), return_type=list),
    WithJsonSchema({"type": "array", "description": "n-dimensional array (nested lists)"}),
]


# --------------------------------------------------------------------------- media


class Image(Model):
    """A still image. ``name`` is the file name as the source format writes it
    (may hold sub-folders); ``path`` is where the file is on disk, when known;
    ``data`` holds the encoded bytes when the format embeds them."""

    kind: Literal["image"] = "image"
    name: str | None = None
    path: str | None = None
    width: int | None = None
    height: int | None = None
    channels: int | None = None
    data: bytes | None = Field(default=None, repr=False)


class VideoFrame(Model):
    """One frame of a video or image sequence (0-based ``frame``)."""

    kind: Literal["video_frame"] = "video_frame"
    video: str
    frame: int
    name: str | None = None
    path: str | None = None
    width: int | None = None
    height: int | None = None


class Volume(Model):
    """A 3D image volume (CT/MR series, NIfTI): shape in voxels (x, y, z[, c]),
    voxel spacing, and the 4x4 voxel-to-world affine in RAS+ millimetres."""

    kind: Literal["volume"] = "volume"
    name: str | None = None
    path: str | None = None
    shape: tuple[int, ...]
    spacing: tuple[float, ...] | None = None
    affine: list[list[float]] | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


class PointCloud(Model):
    """A point cloud file with its related camera images."""

    kind: Literal["point_cloud"] = "point_cloud"
    name: str | None = None
    path: str | None = None
    related_images: list[str] = Field(default_factory=list)


Media = Annotated[Union[Image, VideoFrame, Volume, PointCloud], Field(discriminator="kind")]


# --------------------------------------------------------------------------- annotations


class AnnotationBase(Model):
    """Fields every annotation has. ``group`` ties parts of one object together;
    ``track_id`` ties one object across frames (``keyframe``/``outside`` as in CVAT)."""

    id: int | str | None = None
    label: str | None = None
    group: int | None = None
    track_id: int | None = None
    keyframe: bool | None = None
    outside: bool = False
    z_order: int = 0
    score: float | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)
    metadata: dict[str, Any] = Field(default_factory=dict)
    embedding: list[float] | None = None

    def geometry(self) -> dict[str, Any]:
        """The fields that define the shape (not label, ids or attributes)."""
        common = set(AnnotationBase.model_fields) | {"type"}
        return {k: v for k, v in self.__dict__.items() if k not in common}

    def derived_id(self) -> str:
        """A deterministic id from type, label and geometry: importing the same
        annotation twice yields the same id."""
        payload = orjson.dumps(
            {"type": self.type, "label": self.label, "geometry": self.geometry()},  # type: ignore[attr-defined]
            option=orjson.OPT_SORT_KEYS | orjson.OPT_SERIALIZE_NUMPY,
            default=_json_default,
        )
        return hashlib.sha1(payload).hexdigest()[:16]


def _json_default(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump()
    if isinstance(value, bytes):
        return hashlib.sha1(value).hexdigest()
    raise TypeError(type(value).__name__)


class Tag(AnnotationBase):
    """An image-level label (classification), optionally from a named taxonomy."""

    type: Literal["label"] = "label"
    taxonomy: str | None = None


class BBox(AnnotationBase):
    """Axis-aligned box, optionally rotated by ``rotation`` degrees clockwise about its centre."""

    type: Literal["bbox"] = "bbox"
    x: float
    y: float
    w: float
    h: float
    rotation: float = 0.0

    @property
    def xyxy(self) -> tuple[float, float, float, float]:
        return (self.x, self.y, self.x + self.w, self.y + self.h)


class Polygon(AnnotationBase):
    """A filled region: one or more outer rings (``parts``, each flat ``[x0, y0, x1, y1, ...]``)
    and optional ``holes``. COCO's multi-part segmentation keeps all its parts here."""

    type: Literal["polygon"] = "polygon"
    parts: list[list[float]]
    holes: list[list[float]] = Field(default_factory=list)

    @property
    def points(self) -> list[float]:
        """The first outer ring."""
        return self.parts[0] if self.parts else []


class Polyline(AnnotationBase):
    """An open line through ``points`` (flat x, y pairs)."""

    type: Literal["polyline"] = "polyline"
    points: list[float]


class Points(AnnotationBase):
    """Loose points (flat x, y pairs) with optional per-point visibility 0/1/2."""

    type: Literal["points"] = "points"
    points: list[float]
    visibility: list[int] | None = None


class Keypoints(AnnotationBase):
    """A skeleton instance: points in the order of the label's skeleton, with
    visibility per point (0 = not labelled, 1 = labelled but hidden, 2 = visible)."""

    type: Literal["keypoints"] = "keypoints"
    points: list[float]
    visibility: list[int]
    names: list[str] | None = None

    @field_validator("visibility")
    @classmethod
    def _visibility(cls, v: list[int], info: Any) -> list[int]:
        pts = info.data.get("points")
        if pts is not None and len(pts) != 2 * len(v):
            raise ValueError(f"{len(pts) // 2} points but {len(v)} visibility flags")
        if any(f not in (0, 1, 2) for f in v):
            raise ValueError("visibility flags must be 0, 1 or 2")
        return v


class Ellipse(AnnotationBase):
    """Ellipse by centre, radii and clockwise rotation in degrees."""

    type: Literal["ellipse"] = "ellipse"
    cx: float
    cy: float
    rx: float
    ry: float
    rotation: float = 0.0


class Cuboid2D(AnnotationBase):
    """A projected cuboid: 8 image points (16 floats), in CVAT's corner order."""

    type: Literal["cuboid_2d"] = "cuboid_2d"
    points: list[float] = Field(min_length=16, max_length=16)


class Cuboid3D(AnnotationBase):
    """A cuboid in 3D: centre position, dimensions (scale) and rotation (radians about x, y, z)."""

    type: Literal["cuboid_3d"] = "cuboid_3d"
    position: tuple[float, float, float]
    dimensions: tuple[float, float, float]
    rotation: tuple[float, float, float] = (0.0, 0.0, 0.0)


class RLE(Model):
    """COCO run-length encoding: column-major, ``size`` is ``[height, width]``,
    ``counts`` compressed (str) or uncompressed (list of ints)."""

    size: tuple[int, int]
    counts: str | list[int]
    _trusted: bool = PrivateAttr(default=False)

    @classmethod
    def made(cls, size: tuple[int, int], counts: str | list[int]) -> RLE:
        """An RLE the codec itself produced: its runs are known to fit, so decoding skips the check."""
        rle = cls(size=size, counts=counts)
        rle._trusted = True
        return rle

    @property
    def trusted(self) -> bool:
        return self._trusted


class Mask(AnnotationBase):
    """A raster mask of the whole image. ``semantics`` says whether it marks one
    instance or every pixel of a class. Use :mod:`labelport.geometry.masks` to get an array."""

    type: Literal["mask"] = "mask"
    rle: RLE
    semantics: Literal["instance", "class"] = "instance"

    def to_array(self) -> np.ndarray:
        from labelport.geometry.masks import rle_decode

        return rle_decode(self.rle)

    @classmethod
    def from_array(cls, array: np.ndarray, **fields: Any) -> Mask:
        from labelport.geometry.masks import rle_encode

        return cls(rle=rle_encode(array), **fields)


class VolumeMask(AnnotationBase):
    """A 3D binary mask on its item's volume grid (same axis order as the volume shape)."""

    type: Literal["volume_mask"] = "volume_mask"
    data: NDArray = Field(repr=False)

    @field_validator("data")
    @classmethod
    def _three_d(cls, a: np.ndarray) -> np.ndarray:
        if a.ndim != 3:
            raise ValueError(f"a volume mask is 3-dimensional, got shape {a.shape}")
        return a.astype(bool, copy=False)

    def geometry(self) -> dict[str, Any]:
        packed = np.packbits(self.data).tobytes()
        return {"shape": list(self.data.shape), "sha1": hashlib.sha1(packed).hexdigest()}


class Caption(AnnotationBase):
    """Free text describing the image or a region."""

    type: Literal["caption"] = "caption"
    text: str


Annotation = Annotated[
    Union[Tag, BBox, Polygon, Polyline, Points, Keypoints, Ellipse, Cuboid2D, Cuboid3D, Mask, VolumeMask, Caption],
    Field(discriminator="type"),
]

#: Every annotation kind by its ``type`` string.
ANNOTATION_TYPES: dict[str, type[AnnotationBase]] = {
    cls.model_fields["type"].default: cls
    for cls in (Tag, BBox, Polygon, Polyline, Points, Keypoints, Ellipse, Cuboid2D, Cuboid3D, Mask, VolumeMask, Caption)
}


# --------------------------------------------------------------------------- items and datasets


class Item(Model):
    """One unit of a dataset: an image, a video frame, a volume or a point cloud, with its annotations."""

    id: str
    subset: str | None = None
    media: Media | None = None
    annotations: list[Annotation] = Field(default_factory=list)
    attributes: dict[str, Any] = Field(default_factory=dict)
    #: format bookkeeping (original ids, file names); not user data, never reported as lost
    metadata: dict[str, Any] = Field(default_factory=dict)


class Dataset:
    """Labels and info up front, items streamed.

    ``items`` is a list, or a zero-argument callable returning a fresh iterator
    (so a reader can produce items lazily and the dataset can be iterated again).
    Iterating the dataset yields :class:`Item` objects.
    """

    def __init__(
        self,
        items: Iterable[Item] | Callable[[], Iterator[Item]] = (),
        *,
        info: Info | None = None,
        labels: Iterable[Label] | LabelSet = (),
        taxonomies: Iterable[Taxonomy] = (),
        format: str | None = None,
    ):
        self.info = info or Info()
        self.labels = labels if isinstance(labels, LabelSet) else LabelSet(labels)
        self.taxonomies = list(taxonomies)
        self.format = format
        self._items = items if callable(items) else list(items)
        self._resources: list[Any] = []  # kept alive while the dataset is (e.g. an extracted archive)
        #: names of items whose media could not be found when reading (filled while iterating)
        self.missing_media: list[str] = []
        #: decisions the reader made that the user should know (e.g. coordinates inferred as normalised)
        self.notes: list[str] = []

    @property
    def is_lazy(self) -> bool:
        return callable(self._items)

    def __iter__(self) -> Iterator[Item]:
        if callable(self._items):
            return iter(self._items())
        return iter(self._items)

    def __len__(self) -> int:
        """The number of items of a materialised dataset. A streamed dataset has no length until
        read (``count()`` reads it); raising TypeError here keeps ``list(dataset)`` from reading
        it twice to size the list."""
        if callable(self._items):
            raise TypeError("a streamed dataset has no len(); use count() or materialize()")
        return len(self._items)

    def count(self) -> int:
        """The number of items (reads a streamed dataset once)."""
        return len(self._items) if not callable(self._items) else sum(1 for _ in self)

    def materialize(self) -> Dataset:
        """Read every item into memory (once) and return self."""
        if callable(self._items):
            self._items = list(self._items())
        return self

    def with_items(self, items: Iterable[Item] | Callable[[], Iterator[Item]]) -> Dataset:
        """A dataset sharing this one's info and labels with other items."""
        ds = Dataset(items, info=self.info, labels=self.labels, taxonomies=self.taxonomies, format=self.format)
        ds._resources = self._resources
        ds.missing_media = self.missing_media
        ds.notes = self.notes
        return ds

    def subsets(self) -> list[str]:
        seen: dict[str, None] = {}
        for item in self:
            seen.setdefault(item.subset or "default", None)
        return list(seen)

    def __repr__(self) -> str:
        n = "lazy" if self.is_lazy else len(self._items)
        return f"<Dataset format={self.format!r} items={n} labels={len(self.labels)}>"


class DatasetDocument(Model):
    """A whole dataset as one validated document (for JSON export and schema docs)."""

    info: Info = Field(default_factory=Info)
    labels: list[Label] = Field(default_factory=list)
    taxonomies: list[Taxonomy] = Field(default_factory=list)
    items: list[Item] = Field(default_factory=list)

    @classmethod
    def from_dataset(cls, ds: Dataset) -> DatasetDocument:
        return cls(info=ds.info, labels=list(ds.labels), taxonomies=ds.taxonomies, items=list(ds))

    def to_dataset(self) -> Dataset:
        return Dataset(self.items, info=self.info, labels=self.labels, taxonomies=self.taxonomies)
