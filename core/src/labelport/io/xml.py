"""Hardened XML parsing: no entity expansion, no external entities, no network, ever."""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from labelport.errors import FormatError, UnsafeInputError


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def parse_xml(source: str | Path | bytes, *, name: str | Path | None = None) -> etree._Element:
    """Parse an XML file (or bytes) and return its root element.

    A document declaring entities in its DTD (billion laughs, quadratic blow-up,
    external entities) is refused with :class:`UnsafeInputError`; malformed XML
    raises :class:`FormatError` with the line.
    """
    label = str(name or (source if not isinstance(source, bytes) else "<xml>"))
    try:
        data = source if isinstance(source, bytes) else Path(source).read_bytes()
    except OSError as exc:
        raise FormatError(f"cannot read: {exc.strerror}", file=label) from None
    head = data[:65536]
    if b"<!ENTITY" in head or (b"<!DOCTYPE" in head and b"SYSTEM" in head.split(b"<!DOCTYPE", 1)[1].split(b">", 1)[0]):
        raise UnsafeInputError("XML declares entities or an external DTD; refused for safety", file=label)
    try:
        root = etree.fromstring(data, parser=_parser())
    except etree.XMLSyntaxError as exc:
        line = exc.position[0] if exc.position else None
        raise FormatError(f"malformed XML: {exc.msg}", file=label, location=f"line {line}" if line else None) from None
    if root is None:
        raise FormatError("empty XML document", file=label)
    tree = root.getroottree()
    if tree.docinfo.internalDTD is not None and any(True for _ in tree.docinfo.internalDTD.iterentities()):
        raise UnsafeInputError("XML declares entities; refused for safety", file=label)
    return root


def xml_location(element: etree._Element) -> str:
    """``line N, <tag>`` for error messages."""
    return f"line {element.sourceline}, <{etree.QName(element).localname}>"
