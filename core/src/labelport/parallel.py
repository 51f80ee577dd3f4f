"""Parallel and distributed conversion.

Local: :func:`pmap` spreads per-item work over processes (``workers``), keeping order so
the output is identical to a single-worker run. Beyond one machine: :func:`convert_on_dask`
reads shards of items on a Dask cluster and writes them in the original order, so the result
equals a local conversion. Dask is the engine; labelport has no scheduler of its own.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from itertools import islice
from pathlib import Path
from typing import Any, TypeVar

from labelport.errors import MissingDependencyError, OptionsError

T = TypeVar("T")
R = TypeVar("R")


def pmap(fn: Callable[[T], R], items: Iterable[T], *, workers: int = 1, chunksize: int = 64) -> Iterator[R]:
    """``map(fn, items)`` over ``workers`` processes, results in input order, streaming in
    windows so memory stays bounded. ``workers <= 1`` runs in this process. ``fn`` must be
    picklable (a module-level function)."""
    if workers is None or workers <= 1:
        yield from map(fn, items)
        return
    workers = min(workers, os.cpu_count() or 1)
    it = iter(items)
    with ProcessPoolExecutor(max_workers=workers) as pool:
        while True:
            window = list(islice(it, chunksize * workers * 4))
            if not window:
                return
            yield from pool.map(fn, window, chunksize=chunksize)


def _load_shard(src: str, fmt: str, shard: int, shards: int, read_options: dict[str, Any]) -> list[Any]:
    """Items ``shard, shard + shards, ...`` of a dataset, read on a worker."""
    import labelport

    ds = labelport.load(src, fmt, **read_options)
    return [item for k, item in enumerate(ds) if k % shards == shard]


def convert_on_dask(
    src: str | Path,
    dst: str | Path,
    to: str,
    from_: str | None = None,
    *,
    client: Any = None,
    address: str | None = None,
    shards: int | None = None,
    **options: Any,
) -> Any:
    """Convert with the reading and per-item work spread over a Dask cluster: ``client`` (a
    ``distributed.Client``) or the scheduler ``address``. Workers must see ``src`` at the same
    path. Items come back in their original order, so the output equals :func:`labelport.convert`'s.
    Returns the conversion report."""
    try:
        from distributed import Client
    except ImportError:
        raise MissingDependencyError("distributed conversion needs Dask: pip install 'labelport[dask]'") from None
    import labelport
    from labelport.api import _reg
    from labelport.plugin import Probe, ReadOptions

    own = None
    if client is None:
        if address is None:
            raise OptionsError("convert_on_dask needs a Dask client or a scheduler address")
        client = own = Client(address)
    try:
        src = str(Path(src).resolve())
        fmt = from_ or _reg(None).choose(Probe(Path(src)))
        info = _reg(None).info(fmt)
        read_names = set(ReadOptions.model_fields) | set(info.read_options.model_fields if info.read_options else ())
        read_opts = {k: v for k, v in options.items() if k in read_names and k != "workers"}
        write_opts = {k: v for k, v in options.items() if k not in read_names}
        head = labelport.load(src, fmt, **read_opts)
        n = shards or max(1, sum(client.nthreads().values()))
        futures = [client.submit(_load_shard, src, fmt, k, n, read_opts, pure=False) for k in range(n)]
        parts = client.gather(futures)
        merged = [item for group in _round_robin(parts) for item in group]
        return labelport.save(head.with_items(merged), dst, to, **write_opts)
    finally:
        if own is not None:
            own.close()


def _round_robin(parts: list[list[Any]]) -> Iterator[list[Any]]:
    """Undo the ``k % shards`` partition: item i is ``parts[i % n][i // n]``."""
    longest = max((len(p) for p in parts), default=0)
    for i in range(longest):
        yield [p[i] for p in parts if i < len(p)]
