"""Time PSConv2d against nn.Conv2d and the masked formulation of eq. (3).

All variants run side by side in one process on the same input, on CPU,
with a fixed thread count. Timing runs in rounds: in each round every
variant runs its warm-up calls and then a block of timed calls, so that a
variant is timed in its own steady state (allocator included) while drifts
of a shared machine still hit every variant alike; the median and the
minimum over all timed calls are printed, and the minor page faults per
timed call (memory the allocator got back from the OS). The masked formulation is the direct reading of eq. (3):
``sum_r conv2d(x, W * [D == r], dilation=r)``, one dense conv per rate.

Example (the figures in README)::

    flock /tmp/mmyoloms-cpu.lock python tools/benchmark_psconv.py
"""
import argparse
import resource
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmyoloms.models.layers import PSConv2d


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--channels', type=int, default=64)
    parser.add_argument('--size', type=int, default=56)
    parser.add_argument('--kernel', type=int, default=3)
    parser.add_argument('--groups', type=int, default=1)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument(
        '--warmup', type=int, default=3, help='warm-up calls per block')
    parser.add_argument(
        '--repeats', type=int, default=10, help='timed calls per block')
    parser.add_argument(
        '--backward',
        action='store_true',
        help='time forward + backward instead of an inference forward')
    return parser.parse_args()


def masked_forward(conv: PSConv2d, x: torch.Tensor) -> torch.Tensor:
    """Eq. (3) with one masked dense weight copy per dilation rate."""
    dilation = conv.dilation_matrix()
    out = None
    for rate in dilation.unique().tolist():
        mask = (dilation == rate).to(conv.weight.dtype)[:, :, None, None]
        padding = conv._rate_padding(rate)
        y = F.conv2d(x, conv.weight * mask, None, conv.stride, padding, rate,
                     conv.groups)
        out = y if out is None else out + y
    if conv.bias is not None:
        out = out + conv.bias.view(1, -1, 1, 1)
    return out


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    c, k = args.channels, args.kernel
    pad = k // 2
    vanilla = nn.Conv2d(c, c, k, padding=pad, groups=args.groups)
    dilated = nn.Conv2d(
        c, c, k, padding=2 * pad, dilation=2, groups=args.groups)
    psconv = PSConv2d(c, c, k, padding=pad, groups=args.groups)
    psconv.load_state_dict(vanilla.state_dict())
    x = torch.rand(args.batch, c, args.size, args.size)
    variants = {
        'nn.Conv2d': vanilla,
        'nn.Conv2d dilation 2': dilated,
        'PSConv2d': psconv,
        'masked eq. (3)': lambda inp: masked_forward(psconv, inp),
    }
    torch.testing.assert_close(psconv(x), masked_forward(psconv, x))

    def run(fn):
        if args.backward:
            inp = x.clone().requires_grad_()
            fn(inp).sum().backward()
        else:
            with torch.no_grad():
                fn(x)

    times = {name: [] for name in variants}
    faults = dict.fromkeys(variants, 0)
    for _ in range(args.rounds):
        for name, fn in variants.items():
            for _ in range(args.warmup):
                run(fn)
            before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            for _ in range(args.repeats):
                start = time.perf_counter()
                run(fn)
                times[name].append(time.perf_counter() - start)
            faults[name] += (
                resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)

    base = statistics.median(times['nn.Conv2d'])
    mode = 'forward + backward' if args.backward else 'forward (no grad)'
    print(f'input {tuple(x.shape)}, {c}->{c} {k}x{k} groups {args.groups}, '
          f'{mode}, {args.threads} threads, torch {torch.__version__}, '
          f'{args.rounds} rounds of {args.warmup} warm-up + {args.repeats} '
          f'timed calls per variant')
    base_min = min(times['nn.Conv2d'])
    print('| variant | median ms | vs nn.Conv2d | min ms | vs nn.Conv2d '
          '| minor page faults per call |')
    print('| --- | ---: | ---: | ---: | ---: | ---: |')
    for name, values in times.items():
        med, low = statistics.median(values), min(values)
        print(f'| {name} | {med * 1e3:.2f} | {med / base:.2f}x '
              f'| {low * 1e3:.2f} | {low / base_min:.2f}x '
              f'| {faults[name] / len(values):.0f} |')


if __name__ == '__main__':
    main()
