"""The ``labelport`` command. Exit codes: 0 ok, 1 validation problems or a refused
lossy conversion, 2 bad input or usage."""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
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
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
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
    c.add_argument("--images", help="folder holding the media (matched by file name or frame number)")
    c.add_argument("--password", help="password of an encrypted input zip / for an encrypted .zip output")
    c.add_argument("--workers", type=int, help="processes for per-item work (same output as one)")
    c.add_argument("--scheduler", metavar="ADDRESS", help="run on a Dask cluster (needs labelport[dask])")
    _export_arguments(c)

    v = sub.add_parser("validate", help="report problems in a dataset")
    v.add_argument("path")
    v.add_argument("--format")

    i = sub.add_parser("info", aliases=["stats"], help="items, subsets and annotation counts")
    i.add_argument("path")
    i.add_argument("--format")
    i.add_argument("--plot", metavar="PNG", help="also draw the counts and box sizes as a chart")

    rn = sub.add_parser("render", help="draw annotations over their images into PNGs")
    rn.add_argument("src")
    rn.add_argument("-o", "--output", required=True)
    rn.add_argument("--format")
    rn.add_argument("--limit", type=int, help="render at most this many items")
    rn.add_argument("--overwrite", action="store_true")

    df = sub.add_parser("diff", help="what differs between two datasets")
    df.add_argument("a")
    df.add_argument("b")
    df.add_argument("--format-a")
    df.add_argument("--format-b")
    df.add_argument("--iou", type=float, default=0.5, help="IoU for two annotations to be the same object")

    m = sub.add_parser("merge", help="merge datasets: labels by name, items by id, annotations deduplicated by id")
    m.add_argument("sources", nargs="+")
    m.add_argument("-o", "--output", required=True)
    m.add_argument("--update", action="store_true", help="annotations with the same id replace earlier ones")
    _output_arguments(m)

    r = sub.add_parser("remap", help="rename, merge or delete labels")
    r.add_argument("src")
    r.add_argument("dst")
    r.add_argument("--map", action="append", metavar="OLD=NEW", help="OLD= deletes the label (repeatable)")
    r.add_argument("--map-file", help="a file of OLD=NEW lines, or a JSON object")
    r.add_argument("--delete-others", action="store_true", help="delete labels the mapping does not name")
    _output_arguments(r)

    for name, helptext in (("filter", "keep matching items and annotations"), ("split", "reassign subsets by ratios")):
        f = sub.add_parser(name, help=helptext)
        f.add_argument("src")
        f.add_argument("dst")
        _output_arguments(f)
    return p


def _export_arguments(c: argparse.ArgumentParser) -> None:
    c.add_argument("--save-media", choices=["none", "copy", "hardlink", "symlink"])
    c.add_argument("--export", choices=["annotations", "media", "both"], help="what to write")
    c.add_argument("--layout", choices=["default", "datasets"], help="datasets: datasets/<name>/ + annotations/<name>/")
    c.add_argument("--name", help="name of the export (archive top folder)")
    c.add_argument("--normalized", action=argparse.BooleanOptionalAction, default=None)
    c.add_argument("--shuffle", action="store_true", default=None)
    c.add_argument("--seed", type=int)
    c.add_argument("--split", help="train=0.7,val=0.2,test=0.1, or a test ratio such as 0.3")
    c.add_argument("--stratify", action="store_true", default=None, help="keep label proportions in every subset")
    c.add_argument("--filter", dest="filters", action="append", metavar="EXPR", help="e.g. label=cat, subset!=test (repeatable)")
    c.add_argument("-O", "--option", action="append", metavar="KEY=VALUE", help="a format option (repeatable)")


def _output_arguments(c: argparse.ArgumentParser) -> None:
    c.add_argument("--to", metavar="FMT", help="output format (default: the input's)")
    c.add_argument("--from", dest="from_", metavar="FMT")
    c.add_argument("--overwrite", action="store_true")
    c.add_argument("--strict", action="store_true")
    c.add_argument("--password")
    _export_arguments(c)


_EXPORT_ARGS = ("save_media", "export", "layout", "name", "normalized", "shuffle", "seed", "split", "stratify", "filters")


def _export_options(args: argparse.Namespace) -> dict[str, Any]:
    opts = _kv(args.option)
    for name in _EXPORT_ARGS:
        value = getattr(args, name, None)
        if value is not None:
            opts[name] = value
    return opts


def _report(args: argparse.Namespace, report: Any) -> int:
    _print(args, report.to_dict(), str(report))
    return 0


def _print(args: argparse.Namespace, data: Any, text: str) -> None:
    print(json.dumps(data, indent=2, default=str) if args.json else text)


def run(args: argparse.Namespace) -> int:
    if args.command == "formats":
        infos = api.formats()
        data = [
            {
                "name": f.name,
                "title": f.title,
                "read": f.can_read,
                "write": f.can_write,
                "annotations": sorted(f.annotation_types),
            }
            for f in infos
        ]
        text = (
            "\n".join(f"{f.name:14} {'r' if f.can_read else '-'}{'w' if f.can_write else '-'}  {f.title}" for f in infos)
            or "no formats installed"
        )
        _print(args, data, text)
        return 0
    if args.command == "detect":
        found = api.detect(args.path, password=args.password)
        data = [d.model_dump() for d in found]
        text = "\n".join(f"{d.format:14} {d.confidence:.2f}  {d.reason}" for d in found) or "no installed format recognises it"
        _print(args, data, text)
        return 0 if found else 2
    if args.command == "convert":
        opts = _export_options(args)
        for name in ("images", "password", "workers"):
            value = getattr(args, name)
            if value is not None:
                opts[name] = value
        if args.scheduler:
            from labelport.parallel import convert_on_dask

            report = convert_on_dask(
                args.src,
                args.dst,
                args.to,
                args.from_,
                address=args.scheduler,
                strict=args.strict,
                overwrite=args.overwrite,
                **opts,
            )
            return _report(args, report)
        with _progress(args, "converting") as tick:
            report = api.convert(
                args.src, args.dst, args.to, args.from_, strict=args.strict, overwrite=args.overwrite, progress=tick, **opts
            )
        return _report(args, report)
    if args.command == "render":
        return _render(args)
    if args.command == "diff":
        from labelport.diff import diff

        result = diff(api.load(args.a, args.format_a), api.load(args.b, args.format_b), iou_threshold=args.iou)
        _print(args, result.to_dict(), str(result))
        return 0 if result.equal else 1
    if args.command in ("merge", "remap", "filter", "split"):
        return _operation(args)
    if args.command == "validate":
        problems = api.validate(args.path, args.format)
        errors = [p for p in problems if p.severity == "error"]
        text = "\n".join(str(p) for p in problems) or "no problems found"
        if problems:
            text += f"\n{len(errors)} errors, {len(problems) - len(errors)} warnings"
        _print(args, [p.model_dump() for p in problems], text)
        return 1 if errors else 0
    if args.command in ("info", "stats"):
        s = api.stats(api.load(args.path, args.format))
        lines = [
            f"format: {s['format']}",
            f"items: {s['items']}",
            f"subsets: {s['subsets']}",
            f"annotations: {s['annotations']} {s['by_type']}",
        ]
        lines += [f"  {name}: {n}" for name, n in s["by_label"].items()]
        lines += [f"note: {n}" for n in s["notes"]]
        if args.plot:
            from labelport.plot import plot_stats

            plot_stats(api.load(args.path, args.format), args.plot)
            lines.append(f"chart: {args.plot}")
        _print(args, s, "\n".join(lines))
        return 0
    raise AssertionError(args.command)


def _operation(args: argparse.Namespace) -> int:
    sources = args.sources if args.command == "merge" else [args.src]
    read = {"password": args.password} if args.password else {}
    datasets = [api.load(s, args.from_, **read) for s in sources]
    ds = datasets[0]
    if args.command == "merge":
        ds = api.merge(datasets, update=args.update)
    elif args.command == "remap":
        mapping = _mapping(args)
        ds = api.remap(ds, mapping, default="delete" if args.delete_others else "keep")
    opts = _export_options(args)
    if args.command == "filter" and not opts.get("filters"):
        raise LabelportError("filter needs at least one --filter EXPR")
    if args.command == "split" and not opts.get("split"):
        raise LabelportError("split needs --split RATIOS")
    dst = args.output if args.command == "merge" else args.dst
    fmt = args.to or datasets[0].format
    password = args.password if str(dst).lower().endswith(".zip") else None
    with _progress(args, args.command) as tick:
        report = api.save(ds, dst, fmt, overwrite=args.overwrite, strict=args.strict, password=password, progress=tick, **opts)
    return _report(args, report)


@contextmanager
def _progress(args: argparse.Namespace, what: str) -> Iterator[Callable[[int], None] | None]:
    """A progress bar on a terminal (rich), nothing otherwise; it appears after a second."""
    if args.quiet or args.json or not sys.stderr.isatty():
        yield None
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("{task.completed} items"),
        TimeElapsedColumn(),
        transient=True,
        console=None,
        refresh_per_second=4,
    ) as bar:
        task = bar.add_task(what, total=None, start=False)
        started = time.monotonic()

        def tick(n: int) -> None:
            if time.monotonic() - started > 1.0:
                bar.start_task(task)
                bar.update(task, completed=n)

        yield tick


def _render(args: argparse.Namespace) -> int:
    from pathlib import Path

    from labelport.io.atomic import atomic_output
    from labelport.render import render_dataset

    ds = api.load(args.src, args.format)
    with atomic_output(Path(args.output), overwrite=args.overwrite) as staging:
        written = render_dataset(ds, staging, limit=args.limit)
    _print(
        args,
        {"images": len(written), "output": args.output},
        f"rendered {len(written)} images to {args.output} (contact_sheet.png)",
    )
    return 0


def _mapping(args: argparse.Namespace) -> dict[str, str | None]:
    from pathlib import Path

    from labelport.ops import parse_mapping

    pairs = list(args.map or [])
    if args.map_file:
        text = Path(args.map_file).read_text()
        if text.lstrip().startswith("{"):
            return {k: (v or None) for k, v in json.loads(text).items()}
        pairs += [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    if not pairs:
        raise LabelportError("remap needs --map OLD=NEW or --map-file")
    return parse_mapping(pairs)


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
