"""Parameters and FLOPs at 640x640 of every ablation config, as markdown.

Each config in ``configs/yoloms/ablations`` and ``configs/mmdet`` (or the
configs given) is built and counted by :func:`mmyoloms.analysis.get_complexity`
(``mmengine.analysis``; FLOPs are multiply-adds of the model's ``tensor``
forward on one 640x640 image), next to the base config it inherits, with
the differences.

Examples::

    # print the table
    python tools/ablation_table.py
    # rewrite the table between the ablation-table markers of
    # docs/ablations.md
    python tools/ablation_table.py --readme docs/ablations.md
"""
import argparse
import ast
import glob
import os.path as osp

from mmyoloms.analysis import get_complexity
from mmyoloms.utils import resolve_config_path

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEFAULT_GLOBS = ('configs/yoloms/ablations/*.py', 'configs/mmdet/*.py')
BEGIN = '<!-- ablation-table:begin -->'
END = '<!-- ablation-table:end -->'


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        'configs',
        nargs='*',
        help='config files (default: every ablation config)')
    parser.add_argument('--size', type=int, default=640)
    parser.add_argument(
        '--readme',
        help='rewrite the table between the markers '
        f'"{BEGIN}" and "{END}" of this file instead of printing it')
    return parser.parse_args()


def base_of(path: str) -> str:
    """The config an ablation config is compared with: its ``_base_``, or
    the first entry of a ``_base_`` list (the others are ``_base_/``
    fragments that only add names, such as a shared backbone dict)."""
    with open(path, encoding='utf-8') as f:
        tree = ast.parse(f.read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == '_base_'
                for t in node.targets):
            base = ast.literal_eval(node.value)
            if isinstance(base, (list, tuple)) and base:
                base = base[0]
            if not isinstance(base, str):
                raise ValueError(f'{path}: expected one _base_ file, got '
                                 f'{base!r}')
            return base
    raise ValueError(f'{path} inherits no _base_ config')


def count(path: str, size: int) -> tuple:
    """(params, FLOPs) of the model of config ``path``."""
    info = get_complexity(path, (size, size))
    return info['params'], info['flops']


def table(paths: list, size: int) -> str:
    counts = {}

    def get(path):
        if path not in counts:
            counts[path] = count(path, size)
        return counts[path]

    lines = [
        f'| config | base | params | Δ params | FLOPs @{size} | Δ FLOPs |',
        '| --- | --- | ---: | ---: | ---: | ---: |',
    ]
    for path in paths:
        base_name = base_of(path)
        base = resolve_config_path(base_name, osp.dirname(path))
        params, flops = get(path)
        base_params, base_flops = get(base)
        lines.append(
            f'| `{osp.relpath(path, REPO)}` | `{osp.basename(base_name)}` '
            f'| {params / 1e6:.3f} M | {(params - base_params) / 1e6:+.3f} M '
            f'| {flops / 1e9:.3f} G | {(flops - base_flops) / 1e9:+.3f} G |')
    return '\n'.join(lines)


def main():
    args = parse_args()
    paths = [osp.abspath(p) for p in args.configs] or sorted(
        p for pattern in DEFAULT_GLOBS
        for p in glob.glob(osp.join(REPO, pattern)))
    for p in paths:
        if not osp.isfile(p):
            raise FileNotFoundError(f'config file not found: {p}')
    text = table(paths, args.size)
    if not args.readme:
        print(text)
        return
    with open(args.readme, encoding='utf-8') as f:
        readme = f.read()
    if readme.count(BEGIN) != 1 or readme.count(END) != 1 or readme.index(
            BEGIN) > readme.index(END):
        raise ValueError(f'{args.readme} must hold "{BEGIN}" once, followed '
                         f'by "{END}" once')
    head, rest = readme.split(BEGIN)
    _, tail = rest.split(END)
    with open(args.readme, 'w', encoding='utf-8') as f:
        f.write(f'{head}{BEGIN}\n{text}\n{END}{tail}')
    print(f'{len(paths)} rows written to {args.readme}')


if __name__ == '__main__':
    main()
