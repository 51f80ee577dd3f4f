"""The ``labelport`` command. Exit codes: 0 ok, 1 validation problems or a refused
lossy conversion, 2 bad input or usage."""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from collections.abc import Sequence
from typing import Any

from labelport import api
from labelport.errors import LabelportError


def _parse_value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _kv(pairs: list[str] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep:
            raise LabelportError(f"option {pair!r} is not KEY=VALUE")
        out[key.strip().replace("-", "_")] = _parse_value(value)
    return out


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="labelport", description="Read, write, detect and validate annotation formats.")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    sub = p.add_subparsers(dest="command", required=True)

    sub.add_parser("formats", help="list installed formats")

    d = sub.add_parser("detect", help="which format a file or folder is")
    d.add_argument("path")
    d.add_argument("--password")

    c = sub.add_parser("convert", help="convert a dataset to another format")
    c.add_argument("src")
    c.add_argument("dst")
    c.add_argument("--to", required=True, metavar="FMT")
    c.add_argument("--from", dest="from_", metavar="FMT")
    c.add_argument("--strict", action="store_true", help="refuse a conversion that would lose anything")
    c.add_argument("--overwrite", action="store_true", help="replace an existing target")
    c.add_argument("--images", help="folder holding the media")
    c.add_argument("--password", help="password of an encrypted input zip / for an encrypted .zip output")
    c.add_argument("--save-media", choices=["none", "copy", "hardlink", "symlink"])
    c.add_argument("--name", help="name of the export (archive top folder)")
    c.add_argument("--normalized", action=argparse.BooleanOptionalAction, default=None)
    c.add_argument("-o", "--option", action="append", metavar="KEY=VALUE", help="a format option (repeatable)")

    v = sub.add_parser("validate", help="report problems in a dataset")
    v.add_argument("path")
    v.add_argument("--format")

    i = sub.add_parser("info", help="items, subsets and annotation counts")
    i.add_argument("path")
    i.add_argument("--format")
    return p


def _print(args: argparse.Namespace, data: Any, text: str) -> None:
    print(json.dumps(data, indent=2, default=str) if args.json else text)


def run(args: argparse.Namespace) -> int:
    if args.command == "formats":
        infos = api.formats()
        data = [{"name": f.name, "title": f.title, "read": f.can_read, "write": f.can_write, "annotations": sorted(f.annotation_types)} for f in infos]
        text = "\n".join(f"{f.name:14} {'r' if f.can_read else '-'}{'w' if f.can_write else '-'}  {f.title}" for f in infos) or "no formats installed"
        _print(args, data, text)
        return 0
    if args.command == "detect":
        found = api.detect(args.path, password=args.password)
        data = [d.model_dump() for d in found]
        text = "\n".join(f"{d.format:14} {d.confidence:.2f}  {d.reason}" for d in found) or "no installed format recognises it"
        _print(args, data, text)
        return 0 if found else 2
    if args.command == "convert":
        opts = _kv(args.option)
        for name in ("images", "password", "save_media", "name", "normalized"):
            value = getattr(args, name)
            if value is not None:
                opts[name] = value
        report = api.convert(args.src, args.dst, args.to, args.from_, strict=args.strict, overwrite=args.overwrite, **opts)
        _print(args, report.to_dict(), str(report))
        return 0
    if args.command == "validate":
        problems = api.validate(args.path, args.format)
        errors = [p for p in problems if p.severity == "error"]
        text = "\n".join(str(p) for p in problems) or "no problems found"
        if problems:
            text += f"\n{len(errors)} errors, {len(problems) - len(errors)} warnings"
        _print(args, [p.model_dump() for p in problems], text)
        return 1 if errors else 0
    if args.command == "info":
        s = api.stats(api.load(args.path, args.format))
        lines = [f"format: {s['format']}", f"items: {s['items']}", f"subsets: {s['subsets']}", f"annotations: {s['annotations']} {s['by_type']}"]
        lines += [f"  {name}: {n}" for name, n in s["by_label"].items()]
        _print(args, s, "\n".join(lines))
        return 0
    raise AssertionError(args.command)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return run(args)
    except LabelportError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"labelport: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("labelport: interrupted; nothing was written", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
