"""tf.train.Example and the Object Detection API's label map as protobuf messages built at run time
(no TensorFlow, no protoc), and the TFRecord framing: each record is ``uint64 length``,
``uint32 masked_crc32c(length)``, ``data``, ``uint32 masked_crc32c(data)``, little-endian.

The messages follow tensorflow/core/example/{example,feature}.proto and
object_detection/protos/string_int_label_map.proto field for field (same numbers, same types),
so the bytes are those TensorFlow reads and writes.
"""

from __future__ import annotations

import gzip
import struct
import zlib
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any, BinaryIO

import crc32c as _crc32c
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from labelport.errors import FormatError

_PACKAGE = "labelport_tfrecord"
_MASK_DELTA = 0xA282EAD8
#: a record longer than this is damage (a TFRecord holds one image with its annotations)
MAX_RECORD = 1 << 30
GZIP_MAGIC = b"\x1f\x8b"


@cache
def messages() -> dict[str, Any]:
    """The message classes by name: Example, Features, Feature, BytesList, FloatList, Int64List,
    StringIntLabelMap, StringIntLabelMapItem."""
    fdp = descriptor_pb2.FieldDescriptorProto
    f = descriptor_pb2.FileDescriptorProto(name=f"{_PACKAGE}/messages.proto", package=_PACKAGE, syntax="proto2")

    def message(name: str, parent: Any = None) -> Any:
        m = (parent.nested_type if parent is not None else f.message_type).add()
        m.name = name
        return m

    def add(m: Any, name: str, number: int, kind: int, *, repeated: bool = False, type_name: str | None = None,
            packed: bool = False, oneof: int | None = None) -> None:
        field = m.field.add(name=name, number=number, type=kind,
                            label=fdp.LABEL_REPEATED if repeated else fdp.LABEL_OPTIONAL)
        if type_name:
            field.type_name = f".{_PACKAGE}.{type_name}"
        if packed:
            field.options.packed = True  # TensorFlow's proto3 lists are packed
        if oneof is not None:
            field.oneof_index = oneof

    add(message("BytesList"), "value", 1, fdp.TYPE_BYTES, repeated=True)
    add(message("FloatList"), "value", 1, fdp.TYPE_FLOAT, repeated=True, packed=True)
    add(message("Int64List"), "value", 1, fdp.TYPE_INT64, repeated=True, packed=True)
    feature = message("Feature")
    feature.oneof_decl.add(name="kind")
    add(feature, "bytes_list", 1, fdp.TYPE_MESSAGE, type_name="BytesList", oneof=0)
    add(feature, "float_list", 2, fdp.TYPE_MESSAGE, type_name="FloatList", oneof=0)
    add(feature, "int64_list", 3, fdp.TYPE_MESSAGE, type_name="Int64List", oneof=0)
    features = message("Features")
    entry = message("FeatureEntry", features)
    entry.options.map_entry = True
    add(entry, "key", 1, fdp.TYPE_STRING)
    add(entry, "value", 2, fdp.TYPE_MESSAGE, type_name="Feature")
    add(features, "feature", 1, fdp.TYPE_MESSAGE, repeated=True, type_name="Features.FeatureEntry")
    add(message("Example"), "features", 1, fdp.TYPE_MESSAGE, type_name="Features")

    item = message("StringIntLabelMapItem")
    keypoint = message("KeypointMap", item)
    add(keypoint, "id", 1, fdp.TYPE_INT32)
    add(keypoint, "label", 2, fdp.TYPE_STRING)
    add(item, "name", 1, fdp.TYPE_STRING)
    add(item, "id", 2, fdp.TYPE_INT32)
    add(item, "display_name", 3, fdp.TYPE_STRING)
    add(item, "keypoints", 4, fdp.TYPE_MESSAGE, repeated=True, type_name="StringIntLabelMapItem.KeypointMap")
    add(item, "ancestor_ids", 5, fdp.TYPE_INT32, repeated=True)
    add(item, "descendant_ids", 6, fdp.TYPE_INT32, repeated=True)
    add(message("StringIntLabelMap"), "item", 1, fdp.TYPE_MESSAGE, repeated=True, type_name="StringIntLabelMapItem")

    pool = descriptor_pool.DescriptorPool()
    pool.Add(f)
    names = ("Example", "Features", "Feature", "BytesList", "FloatList", "Int64List")
    names += ("StringIntLabelMap", "StringIntLabelMapItem")
    return {n: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{_PACKAGE}.{n}")) for n in names}


def masked_crc(data: bytes) -> int:
    """TFRecord's masked CRC32C: rotated right by 15 bits plus a constant."""
    crc = _crc32c.crc32c(data)
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


def frame(data: bytes) -> bytes:
    """One record: length, its CRC, the data, its CRC."""
    length = struct.pack("<Q", len(data))
    return length + struct.pack("<I", masked_crc(length)) + data + struct.pack("<I", masked_crc(data))


def looks_like_records(head: bytes) -> bool:
    """The first 12 bytes are a record length with its correct CRC (gzip-compressed files are
    inflated first)."""
    if head.startswith(GZIP_MAGIC):
        try:
            head = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, 12)
        except zlib.error:
            return False
    if len(head) < 12:
        return False
    return struct.unpack("<I", head[8:12])[0] == masked_crc(head[:8])


def _open(path: Path) -> BinaryIO:
    fh = open(path, "rb")  # noqa: SIM115 - returned to the caller, closed by it
    if fh.read(2) == GZIP_MAGIC:
        fh.close()
        return gzip.open(path, "rb")  # type: ignore[return-value]
    fh.seek(0)
    return fh


def read_records(path: Path) -> Iterator[tuple[int, bytes]]:
    """``(index, data)`` of every record, CRCs checked; damage raises FormatError naming the record."""
    try:
        fh = _open(path)
    except OSError as exc:
        raise FormatError(f"cannot read: {exc.strerror or exc}", file=path) from None
    index = 0
    try:
        with fh:
            while True:
                where = f"record {index}"
                head = fh.read(12)
                if not head:
                    return
                if len(head) < 12:
                    raise FormatError("file ends inside a record header", file=path, location=where)
                (length,) = struct.unpack("<Q", head[:8])
                if struct.unpack("<I", head[8:])[0] != masked_crc(head[:8]):
                    raise FormatError("record length fails its CRC check (not a TFRecord, or damaged)", file=path, location=where)
                if length > MAX_RECORD:
                    raise FormatError(f"record of {length} bytes is too large", file=path, location=where)
                data = fh.read(length)
                footer = fh.read(4)
                if len(data) < length or len(footer) < 4:
                    raise FormatError("file ends inside a record", file=path, location=where)
                if struct.unpack("<I", footer)[0] != masked_crc(data):
                    raise FormatError("record data fails its CRC check (damaged)", file=path, location=where)
                yield index, data
                index += 1
    except (OSError, EOFError, zlib.error) as exc:
        raise FormatError(f"cannot decompress: {exc}", file=path, location=f"record {index}") from None
