"""labelport benchmarks: wall time and peak memory of conversions, each beside a baseline
measured in the same run (orjson parse plus a minimal loop writing the same output).

    python benchmarks/run.py                 # 100k and 1M annotations, every scenario whose formats are installed
    python benchmarks/run.py --sizes 100k --scenarios coco-read,coco-to-yolo

Each measurement runs in a fresh interpreter so peak memory (max RSS) is its own.
Prints a markdown table; ``--out FILE`` also writes it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import synth  # noqa: E402

CHILD = """\
import json, resource, sys, time
src, dst = sys.argv[1], sys.argv[2]
t0 = time.perf_counter()
{body}
elapsed = time.perf_counter() - t0
print(json.dumps({{"seconds": elapsed, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""

# What each scenario runs with labelport, and its baseline: the least code that does the same job.
SCENARIOS: dict[str, dict[str, str]] = {
    "coco-read": {
        "needs": "coco",
        "target": "time <= 2x, memory <= 3x input",
        "labelport": "import labelport\nn = sum(len(i.annotations) for i in labelport.load(src, format='coco'))",
        "baseline": "import orjson\ndoc = orjson.loads(open(src, 'rb').read())\nn = len(doc['annotations'])",
    },
    "coco-to-coco": {
        "needs": "coco",
        "target": "time <= 2x",
        "labelport": "import labelport\nlabelport.convert(src, dst + '.json', to='coco', from_='coco')",
        "baseline": "import orjson\ndoc = orjson.loads(open(src, 'rb').read())\nopen(dst + '.json', 'wb').write(orjson.dumps(doc))",
    },
    "coco-to-yolo": {
        "needs": "coco,yolo",
        "target": "time <= 1.5x",
        "labelport": "import labelport\nlabelport.convert(src, dst, to='yolo', from_='coco')",
        "baseline": textwrap.dedent("""
            import orjson, os, collections
            doc = orjson.loads(open(src, 'rb').read())
            imgs = {i['id']: i for i in doc['images']}
            cls = {c['id']: k for k, c in enumerate(doc['categories'])}
            rows = collections.defaultdict(list)
            for a in doc['annotations']:
                im = imgs[a['image_id']]; x, y, w, h = a['bbox']; W, H = im['width'], im['height']
                rows[a['image_id']].append(f"{cls[a['category_id']]} {(x + w / 2) / W:.6f} {(y + h / 2) / H:.6f} {w / W:.6f} {h / H:.6f}")
            os.makedirs(dst + '/labels')
            for iid, im in imgs.items():
                open(dst + '/labels/' + im['file_name'].rsplit('.', 1)[0] + '.txt', 'w').write('\\n'.join(rows[iid]) + '\\n')
            open(dst + '/classes.txt', 'w').write('\\n'.join(c['name'] for c in doc['categories']))
        """),
    },
    "coco-to-voc": {
        "needs": "coco,voc",
        "target": "time <= 1.5x",
        "labelport": "import labelport\nlabelport.convert(src, dst, to='voc', from_='coco')",
        "baseline": textwrap.dedent("""
            import orjson, os, collections
            from xml.sax.saxutils import escape
            doc = orjson.loads(open(src, 'rb').read())
            imgs = {i['id']: i for i in doc['images']}
            names = {c['id']: c['name'] for c in doc['categories']}
            objs = collections.defaultdict(list)
            for a in doc['annotations']:
                x, y, w, h = a['bbox']
                objs[a['image_id']].append(f"<object><name>{escape(names[a['category_id']])}</name><difficult>0</difficult><bndbox><xmin>{round(x) + 1}</xmin><ymin>{round(y) + 1}</ymin><xmax>{round(x + w)}</xmax><ymax>{round(y + h)}</ymax></bndbox></object>")
            os.makedirs(dst + '/Annotations')
            for iid, im in imgs.items():
                stem = im['file_name'].rsplit('.', 1)[0]
                open(f"{dst}/Annotations/{stem}.xml", 'w').write(f"<annotation><filename>{escape(im['file_name'])}</filename><size><width>{im['width']}</width><height>{im['height']}</height><depth>3</depth></size>{''.join(objs[iid])}</annotation>")
        """),
    },
}


def measure(body: str, src: Path, dst: Path) -> dict:
    code = CHILD.format(body=textwrap.dedent(body).strip())
    out = subprocess.run([sys.executable, "-c", code, str(src), str(dst)], capture_output=True, text=True)
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr else f"exit {out.returncode}"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def installed() -> set[str]:
    try:
        import labelport

        return {f.name for f in labelport.formats()}
    except Exception:
        return set()


def parse_size(text: str) -> int:
    text = text.lower().strip()
    mult = {"k": 1_000, "m": 1_000_000}.get(text[-1], 1)
    return int(float(text.rstrip("km")) * mult)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="100k,1M")
    ap.add_argument("--scenarios", default=",".join(SCENARIOS))
    ap.add_argument("--data", type=Path, default=Path(__file__).parent / ".data", help="where synthetic inputs are cached")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    have = installed()
    rows = [
        "| scenario | annotations | labelport s | baseline s | time ratio | labelport MB | baseline MB | input MB | memory / input | target |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for size_text in args.sizes.split(","):
        n = parse_size(size_text)
        src = args.data / f"coco_{n}.json"
        if not src.exists():
            synth.coco(src, n)
        input_mb = src.stat().st_size / 1e6
        for name in args.scenarios.split(","):
            sc = SCENARIOS[name]
            missing = set(sc["needs"].split(",")) - have
            if missing:
                rows.append(f"| {name} | {n:,} | skipped: {', '.join(sorted(missing))} not installed | | | | | | | |")
                continue
            with tempfile.TemporaryDirectory() as tmp:
                base = measure(sc["baseline"], src, Path(tmp) / "baseline")
                mine = measure(sc["labelport"], src, Path(tmp) / "labelport")
            if "error" in mine or "error" in base:
                rows.append(f"| {name} | {n:,} | error: {mine.get('error') or base.get('error')} | | | | | | | |")
                continue
            rows.append(
                f"| {name} | {n:,} | {mine['seconds']:.2f} | {base['seconds']:.2f} | {mine['seconds'] / base['seconds']:.2f}x "
                f"| {mine['peak_mb']:.0f} | {base['peak_mb']:.0f} | {input_mb:.0f} | {mine['peak_mb'] / input_mb:.1f}x | {sc['target']} |"
            )
            print(rows[-1], file=sys.stderr, flush=True)
    table = "\n".join(rows)
    print(table)
    if args.out:
        args.out.write_text(table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
