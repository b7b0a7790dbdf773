"""AP against latency: which detectors are on the Pareto front of a CPU
backend.

:func:`run_pareto` builds every model of a list (:mod:`.zoo`) from its
config, exports it, and times the network forward of every (model,
backend) in one run under one :class:`~.protocol.TimingProtocol`, in
interleaved rounds (:func:`~.latency.time_interleaved`). Each record
joins the measured latency with the model's quoted COCO AP;
:func:`mark_fronts` finds, per backend, the models that no other model
beats (lower latency and higher AP dominates). The outputs are a CSV
(:func:`write_csv`), a Markdown summary (:func:`format_pareto_markdown`)
and a plot per backend with the front drawn (:func:`plot_pareto`).
:func:`profile_off_front` then profiles, by layer type, every YOLO-MS
model off a front beside the peer that beats it.

Latency is the network forward alone (the ``forward`` stage of
:mod:`.latency`): with random weights the work of NMS depends on how many
random scores pass the threshold, which says nothing about a trained
model.

Example:
    >>> from mmyoloms.profiling import TimingProtocol
    >>> from mmyoloms.profiling.pareto import run_pareto
    >>> from mmyoloms.profiling.zoo import zoo_models
    >>> report = run_pareto(zoo_models(['YOLO-MS-XS', 'RTMDet-tiny']),
    ...                     ['openvino-fp32', 'openvino-int8'],
    ...                     TimingProtocol(), 'work_dirs/pareto')
    >>> [(r['model'], r['backend'], r['on_front'])
    ...  for r in report['records']]
"""
import contextlib
import csv
import os
import os.path as osp
from typing import (Callable, Dict, Iterator, List, Optional, Sequence,
                    Tuple, Union)

import numpy as np

from mmyoloms.utils import positive_int
from .protocol import TimingProtocol

#: Backends of the comparison: the runtime and its precision.
PARETO_BACKENDS = ('onnxruntime-fp32', 'onnxruntime-int8', 'openvino-fp32',
                   'openvino-int8')

#: Columns of the CSV, in order.
CSV_FIELDS = ('backend', 'model', 'family', 'multi_scale', 'ap',
              'ap_source', 'median_ms', 'p10_ms', 'p90_ms', 'iqr_ms',
              'mean_ms', 'samples', 'on_front', 'dominated_by', 'params',
              'shape', 'batch', 'threads', 'config')

#: Marker of each family in the plot.
_MARKERS = {'YOLO-MS': 'o', 'RTMDet': 's', 'YOLOv6': '^', 'YOLOv8': 'D'}


def parse_backends(backends: Union[str, Sequence[str]]) -> List[str]:
    """Backend names from ``'a,b'`` or a list; a runtime without a
    precision (``'openvino'``) means its fp32.

    Raises:
        ValueError: An unknown or repeated backend, or none.
    """
    if isinstance(backends, str):
        backends = backends.split(',')
    names = []
    for name in (b.strip() for b in backends):
        if name in ('onnxruntime', 'openvino'):
            name += '-fp32'
        if name not in PARETO_BACKENDS:
            raise ValueError(f'backend must be one of {PARETO_BACKENDS}, '
                             f'got {name!r}')
        if name in names:
            raise ValueError(f'backend {name!r} is given twice')
        names.append(name)
    if not names:
        raise ValueError('no backend given')
    return names


def dominates(a: Tuple[float, float], b: Tuple[float, float]) -> bool:
    """Whether point ``a = (latency, ap)`` beats ``b``: no slower, no less
    accurate, and better in one of the two."""
    return (a[0] <= b[0] and a[1] >= b[1]) and (a[0] < b[0] or a[1] > b[1])


def pareto_front(points: Sequence[Tuple[float, float]]) -> List[bool]:
    """For each ``(latency, ap)`` point, whether no other point dominates
    it (:func:`dominates`). Equal points are both on the front."""
    return [
        not any(dominates(q, p) for j, q in enumerate(points) if j != i)
        for i, p in enumerate(points)
    ]


def mark_fronts(records: Sequence[dict]) -> List[dict]:
    """Copies of ``records`` (each with ``backend``, ``model``,
    ``median_ms`` and ``ap``) with ``on_front`` and ``dominated_by``
    filled per backend.

    ``dominated_by`` names the models that beat the record on its
    backend, the closest in latency (the slowest of them) first: the peer
    to compare it with.
    """
    out = [dict(r) for r in records]
    by_backend: Dict[str, List[dict]] = {}
    for r in out:
        by_backend.setdefault(r['backend'], []).append(r)
    for group in by_backend.values():
        points = [(r['median_ms'], r['ap']) for r in group]
        for r, p, on in zip(group, points, pareto_front(points)):
            r['on_front'] = on
            beaters = [q for q in group
                       if dominates((q['median_ms'], q['ap']), p)]
            r['dominated_by'] = [
                q['model'] for q in sorted(beaters,
                                           key=lambda q: -q['median_ms'])
            ]
    return out


def cpu_description() -> dict:
    """The CPU a measurement runs on: ``model`` (``/proc/cpuinfo``'s model
    name, or the platform's processor), ``logical_cpus``, the CPUs this
    process may run on (``affinity``) and which of the instruction sets
    that decide INT8 speed it has (``int8_isa``: avx2, avx512f,
    avx512_vnni, avx_vnni, amx_int8)."""
    import platform
    name, flags = None, set()
    if osp.isfile('/proc/cpuinfo'):
        with open('/proc/cpuinfo', encoding='utf-8') as f:
            for line in f:
                key, _, value = line.partition(':')
                if key.strip() == 'model name' and name is None:
                    name = value.strip()
                elif key.strip() == 'flags' and not flags:
                    flags = set(value.split())
    wanted = ('avx2', 'avx512f', 'avx512_vnni', 'avx_vnni', 'amx_int8')
    affinity = (sorted(os.sched_getaffinity(0))
                if hasattr(os, 'sched_getaffinity') else None)
    return dict(
        model=name or platform.processor() or platform.machine(),
        logical_cpus=os.cpu_count(),
        affinity=affinity,
        int8_isa=[f for f in wanted if f in flags])


@contextlib.contextmanager
def cpu_affinity(cpus: Optional[Sequence[int]]) -> Iterator[None]:
    """Run the block on the CPUs ``cpus`` only (threads started in it
    inherit them), then restore the previous set; None changes nothing."""
    if cpus is None:
        yield
        return
    if not hasattr(os, 'sched_setaffinity'):
        raise ValueError('cpus: this platform cannot pin a process to CPUs')
    cpus = sorted(set(cpus))
    if not cpus or any(not isinstance(c, int) or c < 0 for c in cpus):
        raise ValueError(f'cpus must be CPU ids >= 0, got {cpus}')
    previous = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cpus)
    try:
        yield
    finally:
        os.sched_setaffinity(0, previous)


def _forward_fn(graphs, backend: str, feed: np.ndarray,
                threads: int) -> Tuple[Callable[[], object], str]:
    """The network forward of ``graphs``' net graph on ``backend``, and
    the graph's file."""
    from mmyoloms.deploy import compile_openvino, make_session
    from mmyoloms.deploy.export import INPUT_NAME
    runtime, precision = backend.split('-')
    net_file = graphs.get('net', precision, runtime)
    if runtime == 'onnxruntime':
        session = make_session(net_file, threads)
        return lambda: session.run(None, {INPUT_NAME: feed}), net_file
    request = compile_openvino(net_file, threads).create_infer_request()
    return lambda: request.infer({0: feed}), net_file


def run_pareto(models: Sequence,
               backends: Sequence[str],
               protocol: TimingProtocol,
               work_dir: str,
               calib_images: int = 4,
               exporter: str = 'dynamo',
               cpus: Optional[Sequence[int]] = None,
               log: Callable[[str], None] = print) -> dict:
    """Export and time every model on every backend, side by side.

    Each model is built from its config with seeded random weights and BN
    statistics calibrated on the benchmark image
    (:func:`~.benchmark.prepare_benchmark_model`), exported in deploy mode
    without NMS, and, for the INT8 backends, quantized
    (:mod:`mmyoloms.deploy.quantize`'s defaults) on ``calib_images``
    synthetic images. All (model, backend) forwards are then timed in
    interleaved rounds with the protocol's threads.

    Args:
        models (Sequence[ZooModel]): :func:`~.zoo.zoo_models`, or any
            objects with ``name, config, family, ap, ap_source``.
        backends (Sequence[str]): From :data:`PARETO_BACKENDS` (see
            :func:`parse_backends`).
        protocol (TimingProtocol): Shape, batch, warm-up, repeats, rounds
            and threads.
        work_dir (str): The exported graphs go to ``work_dir/graphs``.
        calib_images (int): Synthetic images that calibrate INT8.
            Defaults to 4.
        exporter (str): ONNX exporter. Defaults to ``'dynamo'``.
        cpus (Sequence[int], optional): Pin the process to these CPUs.
            Defaults to None (not pinned).
        log (callable): Progress messages. Defaults to ``print``.

    Returns:
        dict: ``settings`` (protocol, exporter, versions, CPU, the INT8
        calibration and the stage timed) and ``records`` (one dict per
        model and backend, :data:`CSV_FIELDS`, fronts marked).
    """
    from .benchmark import environment, prepare_benchmark_model
    from .latency import (GraphCache, network_input, synthetic_image,
                          time_interleaved)
    from .protocol import pinned_threads, summarize
    backends = parse_backends(backends)
    positive_int(calib_images, 'calib_images')
    if not models:
        raise ValueError('no models given')
    names = [m.name for m in models]
    if len(set(names)) != len(names):
        raise ValueError(f'model names must not repeat, got {names}')
    shape = protocol.shape
    images = [synthetic_image()] * protocol.batch
    graph_dir = osp.join(work_dir, 'graphs')
    fns, info = {}, {}
    with cpu_affinity(cpus), pinned_threads(protocol.threads):
        cpu = cpu_description()
        for spec in models:
            log(f'building and exporting {spec.name}')
            model = prepare_benchmark_model(dict(config=spec.config),
                                            protocol, images)
            calib = [
                network_input(model, shape,
                              [synthetic_image(seed=s)] * protocol.batch)
                for s in range(calib_images)
            ]
            stem = f'{spec.name}_{shape[0]}x{shape[1]}_b{protocol.batch}'
            graphs = GraphCache(model, shape, protocol.batch, graph_dir,
                                stem, exporter, {}, calib)
            feed = network_input(model, shape, images)
            feed_file = osp.join(graph_dir, f'{stem}_input.npy')
            np.save(feed_file, feed)
            params = sum(p.numel() for p in model.parameters())
            for backend in backends:
                log(f'preparing {spec.name} / {backend}')
                fns[(spec.name, backend)], graph = _forward_fn(
                    graphs, backend, feed, protocol.threads)
                info[(spec.name, backend)] = dict(
                    graph=graph, input=feed_file,
                    model=spec.name, family=spec.family,
                    multi_scale=spec.family == 'YOLO-MS', backend=backend,
                    ap=float(spec.ap), ap_source=spec.ap_source,
                    params=params, shape=list(shape), batch=protocol.batch,
                    threads=protocol.threads,
                    config=_display_path(spec.config))
            del graphs, model
        log(f'timing {len(fns)} entries: {protocol.warmup} warm-up calls, '
            f'then {protocol.rounds} rounds of {protocol.repeat}')
        samples = time_interleaved(fns, protocol, log)
    records = []
    for key in fns:
        stats = summarize(samples[key], protocol.batch)
        stats.pop('images_per_s')
        records.append(dict(info[key], **stats))
    settings = dict(
        protocol.as_dict(),
        stage='forward (network alone, deploy mode, no NMS)',
        exporter=exporter,
        weights='random (seeded), BN statistics calibrated on the '
        'benchmark image',
        int8_calibration=f'{calib_images} synthetic images '
        f'(synthetic_image seeds 0-{calib_images - 1}); onnxruntime: '
        'static QDQ, per-channel, reduce_range; OpenVINO: NNCF, '
        'overflow_fix enable',
        ap='quoted from each model\'s publisher (ap_source), not measured',
        cpu=cpu,
        cpus=sorted(set(cpus)) if cpus is not None else None,
        **environment())
    return dict(settings=settings, records=mark_fronts(records))


def _display_path(config: str) -> str:
    """``config`` relative to the checkout when it lies in it (the outputs
    are committed, and must not hold this machine's paths)."""
    from .zoo import repository_root
    root = repository_root()
    path = osp.abspath(str(config))
    if '::' not in str(config) and path.startswith(root + os.sep):
        return osp.relpath(path, root)
    return str(config)


def _csv_value(value) -> str:
    if isinstance(value, (list, tuple)):
        return ' '.join(str(v) for v in value)
    if isinstance(value, float):
        return f'{value:.4g}' if abs(value) < 1 else f'{value:.3f}'
    return str(value)


def write_csv(records: Sequence[dict], path: str) -> str:
    """Write ``records`` as CSV, columns :data:`CSV_FIELDS` (lists joined
    by spaces). Returns ``path``."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w', newline='', encoding='utf-8') as f:
        writer = csv.DictWriter(f, fieldnames=CSV_FIELDS)
        writer.writeheader()
        for r in records:
            writer.writerow({k: _csv_value(r[k]) for k in CSV_FIELDS})
    return path


def _backends_in_order(records: Sequence[dict]) -> List[str]:
    seen = []
    for r in records:
        if r['backend'] not in seen:
            seen.append(r['backend'])
    return seen


def format_pareto_markdown(report: dict) -> str:
    """A Markdown summary of a :func:`run_pareto` report: the settings, a
    table per backend (fastest first, front marked, the models that beat
    each one), and on which backends each YOLO-MS model is on the
    front."""
    settings, records = report['settings'], report['records']
    cpu = settings.get('cpu', {})
    lines = [
        '# AP against latency', '',
        f"Machine: {cpu.get('model', '?')}, {cpu.get('logical_cpus', '?')}"
        f" logical CPUs (INT8 instructions: "
        f"{', '.join(cpu.get('int8_isa') or []) or 'none listed'}); "
        f"{settings['threads']} threads"
        + (f", pinned to CPUs {cpu['affinity']}"
           if settings.get('cpus') else '') + '.',
        f"Protocol: {settings['shape'][0]}x{settings['shape'][1]}, batch "
        f"{settings['batch']}, {settings['warmup']} warm-up calls, "
        f"{settings['rounds']} interleaved rounds x {settings['repeat']} "
        f"timed calls; {settings['stage']}.",
        f"Weights: {settings['weights']}. INT8 calibration: "
        f"{settings['int8_calibration']}.",
        f"AP: {settings['ap']}.",
    ]
    if settings.get('command'):
        lines += ['', '```bash', settings['command'], '```']
    for backend in _backends_in_order(records):
        rows = sorted((r for r in records if r['backend'] == backend),
                      key=lambda r: r['median_ms'])
        lines += [
            '', f'## {backend}', '',
            '| model | quoted AP | median ms [p10, p90] | front | '
            'beaten by |', '| --- | ---: | ---: | :---: | --- |'
        ]
        for r in rows:
            name = f"**{r['model']}**" if r['multi_scale'] else r['model']
            lines.append(
                f"| {name} | {r['ap']:.1f} | {r['median_ms']:.1f} "
                f"[{r['p10_ms']:.1f}, {r['p90_ms']:.1f}] | "
                f"{'yes' if r['on_front'] else ''} | "
                f"{', '.join(r['dominated_by'])} |")
    ms_models = []
    for r in records:
        if r['multi_scale'] and r['model'] not in ms_models:
            ms_models.append(r['model'])
    if ms_models:
        lines += ['', '## YOLO-MS models on the front', '',
                  '| model | on the front of | off it on (beaten by) |',
                  '| --- | --- | --- |']
        for name in ms_models:
            mine = [r for r in records if r['model'] == name]
            on = [r['backend'] for r in mine if r['on_front']]
            off = [f"{r['backend']} ({r['dominated_by'][0]})"
                   for r in mine if not r['on_front']]
            lines.append(f"| {name} | {', '.join(on) or 'none'} | "
                         f"{', '.join(off) or '-'} |")
    lines += ['', 'Sources of the quoted AP:', '']
    sources = {}
    for r in records:
        sources.setdefault(r['ap_source'], []).append(r['model'])
    for source, names in sources.items():
        lines.append(f"- {source}: {', '.join(dict.fromkeys(names))}")
    return '\n'.join(lines) + '\n'


def plot_pareto(report: dict, path: str) -> str:
    """AP against forward latency, one panel per backend: each model
    with its p10-p90 spread, YOLO-MS models in red, the Pareto front as a
    staircase (the best AP reachable within a latency). Returns
    ``path``."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    settings, records = report['settings'], report['records']
    backends = _backends_in_order(records)
    ncols = len(backends) if len(backends) <= 3 else 2
    nrows = -(-len(backends) // ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(5.2 * ncols, 4.4 * nrows), squeeze=False,
        sharey=True)
    for ax in axes.flat[len(backends):]:
        ax.set_visible(False)
    for ax, backend in zip(axes.flat, backends):
        rows = [r for r in records if r['backend'] == backend]
        for r in rows:
            color = 'tab:red' if r['multi_scale'] else 'tab:blue'
            x = r['median_ms']
            ax.errorbar(
                x, r['ap'],
                xerr=[[x - r['p10_ms']], [r['p90_ms'] - x]],
                fmt=_MARKERS.get(r['family'], 'x'), color=color,
                markersize=6, capsize=2, linewidth=1)
            ax.annotate(r['model'], (x, r['ap']), textcoords='offset points',
                        xytext=(4, 3), fontsize=7, color=color)
        front = sorted((r for r in rows if r['on_front']),
                       key=lambda r: (r['median_ms'], r['ap']))
        if front:
            xs = [r['median_ms'] for r in front]
            ys = [r['ap'] for r in front]
            xmax = max(r['p90_ms'] for r in rows)
            ax.step(xs + [xmax], ys + [ys[-1]], where='post',
                    color='0.4', linestyle='--', linewidth=1,
                    label='Pareto front')
            ax.legend(loc='lower right', fontsize=8)
        ax.set_title(backend)
        ax.set_xlabel('forward latency, median ms (p10-p90)')
        ax.grid(alpha=0.3)
    for row in axes:
        row[0].set_ylabel('COCO AP (quoted, not measured)')
    cpu = settings.get('cpu', {})
    fig.suptitle(
        f"{cpu.get('model', '?')}, {settings['threads']} threads, "
        f"{settings['shape'][0]}x{settings['shape'][1]}, batch "
        f"{settings['batch']}", fontsize=9)
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def off_front_pairs(records: Sequence[dict]) -> List[Tuple[dict, dict]]:
    """``(record, peer)`` for every YOLO-MS record off its backend's
    front, ``peer`` being the closest model that beats it
    (``dominated_by[0]``)."""
    index = {(r['model'], r['backend']): r for r in records}
    return [(r, index[(r['dominated_by'][0], r['backend'])])
            for r in records
            if r['multi_scale'] and not r['on_front']]


def profile_graph(record: dict, threads: int, runs: int = 10,
                  warmup: int = 3) -> dict:
    """Operator profile (:mod:`.operators`) of a record's timed graph on
    its runtime, fed the input it was timed with. OpenVINO's types are
    ``layer/kernel``: 1x1, depthwise (``GroupConvolution``) and dense
    convs apart."""
    from .operators import profile_onnxruntime, profile_openvino
    for key in ('graph', 'input'):
        if not osp.isfile(record.get(key) or ''):
            raise FileNotFoundError(
                f"{record['model']} / {record['backend']}: the {key} file "
                f'{record.get(key)} is missing; rerun the timing')
    feed = np.load(record['input'])
    if record['backend'].startswith('onnxruntime'):
        return profile_onnxruntime(record['graph'], feed, threads=threads,
                                   runs=runs, warmup=warmup, top=10)
    return profile_openvino(record['graph'], feed, threads=threads,
                            runs=runs, warmup=warmup, top=10)


def profile_off_front(report: dict, runs: int = 10, warmup: int = 3,
                      log: Callable[[str], None] = print) -> List[dict]:
    """Where the time of every YOLO-MS model off a front goes, by layer
    type, beside the peer that beats it (:func:`off_front_pairs`), on
    the same backend and with the run's threads.

    Returns:
        list[dict]: ``backend``, ``model``, ``peer``, ``profiles``
        (``{name: profile}``) per pair.
    """
    threads = report['settings']['threads']
    out = []
    for record, peer in off_front_pairs(report['records']):
        log(f"profiling {record['model']} and {peer['model']} on "
            f"{record['backend']}")
        out.append(dict(
            backend=record['backend'], model=record['model'],
            peer=peer['model'],
            profiles={r['model']: profile_graph(r, threads, runs, warmup)
                      for r in (record, peer)}))
    return out


def format_profile_comparison(comparisons: Sequence[dict],
                              min_ms: float = 0.2) -> str:
    """Markdown tables of :func:`profile_off_front`: per pair, ms per run
    of each layer type for the model and its peer and the difference,
    largest difference first (types under ``min_ms`` in both summed into
    one row)."""
    if not comparisons:
        return 'Every YOLO-MS model is on the front of every backend.\n'
    lines = []
    for c in comparisons:
        a, b = c['model'], c['peer']
        pa, pb = c['profiles'][a], c['profiles'][b]
        types = set(pa['by_type']) | set(pb['by_type'])
        rows, rest = [], [0., 0.]
        for t in types:
            x, y = pa['by_type'].get(t, 0.), pb['by_type'].get(t, 0.)
            if x < min_ms and y < min_ms:
                rest[0] += x
                rest[1] += y
            else:
                rows.append((t, x, y))
        rows.sort(key=lambda r: -abs(r[1] - r[2]))
        if any(rest):
            rows.append(('(others)', *rest))
        lines += [f"## {a} against {b}, {c['backend']}", '',
                  f'| layer type | {a} ms | {b} ms | difference ms |',
                  '| --- | ---: | ---: | ---: |']
        lines += [f'| {t} | {x:.1f} | {y:.1f} | {x - y:+.1f} |'
                  for t, x, y in rows]
        lines += [f"| **total** | **{pa['total_ms']:.1f}** | "
                  f"**{pb['total_ms']:.1f}** | "
                  f"**{pa['total_ms'] - pb['total_ms']:+.1f}** |", '']
    return '\n'.join(lines)
