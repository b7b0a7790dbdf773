"""AP against CPU latency of YOLO-MS and its peers, the Pareto front per
backend.

Builds every model from its config (random weights: no download), exports
it in deploy mode, quantizes it for the INT8 backends (calibrated on
synthetic images), and times the network forward of every (model,
backend) in one run under one protocol. AP is quoted (official YOLO-MS
README, the installed mmyolo's metafiles), never measured here.

Writes to ``--out``: ``pareto.json`` (settings and records),
``pareto.csv``, ``pareto.md`` (tables, front marked) and ``pareto.png``
(AP against latency per backend, front drawn). With ``--profile``, also
``profiles.md`` / ``.json``: for every YOLO-MS model off a front, where
its time goes by layer type beside the peer that beats it.

Examples::

    # the default list (YOLO-MS XS/XS-SE/S/M, YOLOv6-MS-t, YOLOv8-MS-n,
    # RTMDet tiny/s/m, YOLOv6 n/t/s, YOLOv8 n/s/m), 640x640, 2 threads
    python tools/pareto.py \\
        --backends openvino-fp32,openvino-int8,onnxruntime-fp32 \\
        --out work_dirs/pareto
    # a few models, pinned to CPUs 0 and 1
    python tools/pareto.py --models YOLO-MS-XS,RTMDet-tiny,YOLOv8-n \\
        --backends openvino-int8 --cpus 0,1 --out work_dirs/pareto_xs
    # your own models: a JSON list of {name, config, family, ap, ap_source}
    python tools/pareto.py --models-file my_models.json --out work_dirs/mine
    # redo the CSV, table and plot of a finished run, and profile the
    # YOLO-MS models that are off a front against their peers
    python tools/pareto.py --replot work_dirs/pareto/pareto.json --profile
"""
import argparse
import json
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmyoloms.deploy.export import EXPORTERS  # noqa: E402
from mmyoloms.profiling import TimingProtocol  # noqa: E402
from mmyoloms.profiling.pareto import (  # noqa: E402
    format_pareto_markdown, format_profile_comparison, parse_backends,
    plot_pareto, profile_off_front, run_pareto, write_csv)
from mmyoloms.profiling.zoo import ZooModel, zoo_models  # noqa: E402

DEFAULT_BACKENDS = 'openvino-fp32,openvino-int8,onnxruntime-fp32'
MODEL_KEYS = ('name', 'config', 'family', 'ap', 'ap_source')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--backends', default=DEFAULT_BACKENDS,
        help='comma-separated, from onnxruntime-fp32, onnxruntime-int8, '
        f'openvino-fp32, openvino-int8 (default: {DEFAULT_BACKENDS})')
    parser.add_argument(
        '--models', help='comma-separated model names (default: all of '
        'mmyoloms.profiling.zoo but YOLO-MS-S-SE and YOLO-MS-M-SE)')
    parser.add_argument(
        '--models-file', help='JSON list of {name, config, family, ap, '
        'ap_source} to time instead of the built-in list')
    parser.add_argument(
        '--out', help='output directory, graphs in OUT/graphs (default: '
        'work_dirs/pareto; with --replot: beside the JSON)')
    parser.add_argument('--shape', nargs=2, type=int, default=[640, 640],
                        metavar=('H', 'W'), help='network input size')
    parser.add_argument('--batch', type=int, default=1)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--repeat', type=int, default=10,
                        help='timed calls per entry and round')
    parser.add_argument('--rounds', type=int, default=3,
                        help='interleaved rounds over all entries')
    parser.add_argument('--calib-images', type=int, default=4,
                        help='synthetic images that calibrate INT8')
    parser.add_argument('--exporter', default='dynamo', choices=EXPORTERS)
    parser.add_argument(
        '--cpus', help='pin the process to these CPU ids, e.g. 0,1')
    parser.add_argument(
        '--replot', metavar='JSON',
        help='rewrite the CSV, Markdown and plot of a pareto.json (beside '
        'it, or in --out if given) without timing anything')
    parser.add_argument(
        '--profile', action='store_true',
        help='profile every YOLO-MS model off a front beside the peer that '
        'beats it, by layer type (OUT/profiles.md and .json)')
    parser.add_argument('--profile-runs', type=int, default=10,
                        help='profiled runs per graph (after --warmup)')
    return parser.parse_args(argv)


def load_models_file(path: str):
    """The models of a ``--models-file``."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'--models-file not found: {path}')
    with open(path, encoding='utf-8') as f:
        entries = json.load(f)
    if not isinstance(entries, list) or not entries:
        raise ValueError(f'{path}: expected a non-empty JSON list of '
                         f'models with keys {MODEL_KEYS}')
    models = []
    for i, entry in enumerate(entries):
        missing = [k for k in MODEL_KEYS if k not in entry] if isinstance(
            entry, dict) else list(MODEL_KEYS)
        if missing:
            raise ValueError(f'{path}: model {i} lacks {missing}')
        models.append(ZooModel(**{k: entry[k] for k in MODEL_KEYS}))
    return models


def write_outputs(report: dict, out: str) -> dict:
    """``pareto.json``, ``.csv``, ``.md`` and ``.png`` in ``out``."""
    os.makedirs(out, exist_ok=True)
    files = dict(json=osp.join(out, 'pareto.json'),
                 csv=osp.join(out, 'pareto.csv'),
                 md=osp.join(out, 'pareto.md'),
                 png=osp.join(out, 'pareto.png'))
    with open(files['json'], 'w', encoding='utf-8') as f:
        json.dump(report, f, indent=2)
    write_csv(report['records'], files['csv'])
    with open(files['md'], 'w', encoding='utf-8') as f:
        f.write(format_pareto_markdown(report))
    plot_pareto(report, files['png'])
    return files


def write_profiles(report: dict, out: str, args) -> dict:
    """``profiles.json`` and ``profiles.md`` of
    :func:`profile_off_front` in ``out``."""
    comparisons = profile_off_front(report, runs=args.profile_runs,
                                    warmup=args.warmup)
    files = dict(profiles_json=osp.join(out, 'profiles.json'),
                 profiles_md=osp.join(out, 'profiles.md'))
    with open(files['profiles_json'], 'w', encoding='utf-8') as f:
        json.dump(comparisons, f, indent=2)
    text = format_profile_comparison(comparisons)
    with open(files['profiles_md'], 'w', encoding='utf-8') as f:
        f.write(text)
    print(text)
    return files


def main(argv=None):
    args = parse_args(argv)
    if args.replot:
        if not osp.isfile(args.replot):
            raise FileNotFoundError(f'--replot file not found: '
                                    f'{args.replot}')
        with open(args.replot, encoding='utf-8') as f:
            report = json.load(f)
        out = args.out or osp.dirname(osp.abspath(args.replot))
        files = write_outputs(report, out)
        if args.profile:
            files.update(write_profiles(report, out, args))
        print(f'written: {", ".join(files.values())}')
        return report
    backends = parse_backends(args.backends)
    if args.models and args.models_file:
        raise ValueError('give --models or --models-file, not both')
    if args.models_file:
        models = load_models_file(args.models_file)
    else:
        models = zoo_models(args.models.split(',') if args.models else None)
    cpus = None
    if args.cpus:
        try:
            cpus = [int(c) for c in args.cpus.split(',')]
        except ValueError:
            raise ValueError(f'--cpus must be comma-separated CPU ids, '
                             f'got {args.cpus!r}') from None
    protocol = TimingProtocol(
        shape=tuple(args.shape), batch=args.batch, warmup=args.warmup,
        repeat=args.repeat, rounds=args.rounds, threads=args.threads)
    out = args.out or 'work_dirs/pareto'
    report = run_pareto(models, backends, protocol, out,
                        calib_images=args.calib_images,
                        exporter=args.exporter, cpus=cpus)
    report['settings']['command'] = ' '.join(
        ['python tools/pareto.py'] +
        list(sys.argv[1:] if argv is None else argv))
    files = write_outputs(report, out)
    print(format_pareto_markdown(report))
    if args.profile:
        files.update(write_profiles(report, out, args))
    print(f'written: {", ".join(files.values())}')
    return report


if __name__ == '__main__':
    main()
