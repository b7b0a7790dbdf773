"""Build an mmcv wheel with compiled ops from an unpacked sdist, fast.

Usage (run with the venv's python, which has torch, setuptools and ninja)::

    MMCV_WITH_OPS=1 MAX_JOBS=2 python scripts/build_mmcv.py SRC_DIR OUT_DIR

mmcv's setup.py compiles about 80 C++ files through torch's ninja backend.
Profiled on 2 cores (mmcv 2.0.1, torch 2.13.0, GCC 12), each file took 12-24 s
and almost all of it is not mmcv's code: parsing torch's headers again in
every translation unit and writing debug information for everything they
instantiate (Python's CFLAGS carry ``-g``). This builder changes neither
mmcv's sources nor the optimisation level (``-O3`` stays); it only edits the
ninja file torch writes, so that

* ``<torch/types.h>`` is compiled once into a GCC precompiled header which
  every C++ file force-includes (``-include``); each file then compiles in
  about 2 s instead of 8 s. Every mmcv source includes that header first
  anyway, and GCC falls back to the plain header (``-Winvalid-pch`` warns) if
  the precompiled one does not match, so a mismatch costs time, never
  correctness;
* debug information is off (``-g0``): the ops are the same machine code, the
  objects are 20-50x smaller.

CUDA sources (``FORCE_CUDA=1``) go through nvcc unchanged; the host C++ files
of such a build use the precompiled header as well, compiled with the same
flags. With a compiler other than GCC, or a torch whose ninja file does not
look as expected, the build runs exactly as torch writes it (slower).

The only source change is the one mmcv 2.0.x needs for torch >= 2.1 headers:
its hard-coded ``-std=c++14`` becomes the standard torch's headers ask for
(``-std=c++17``; ``-std=c++20`` from torch 2.14, whose ATen.h refuses less).

With ``FORCE_CUDA=1`` and no ``CUDA_HOME``, the CUDA toolkit of the
``nvidia-cuda-nvcc`` / ``nvidia-cuda-runtime`` wheels installed beside torch
(``site-packages/nvidia/cu<major>/``) is used when it is there; otherwise
torch finds nvcc on ``PATH`` or in ``/usr/local/cuda`` as usual. Those wheels
ship ``libcudart.so.<major>`` but no unversioned ``libcudart.so`` for
``-lcudart``: the builder links it from a folder of the build tree that it
puts on ``LIBRARY_PATH`` (the wheel's files are not touched).
"""
import argparse
import os
import os.path as osp
import re
import runpy
import shlex
import subprocess
import sys
import sysconfig

PCH_HEADER = 'mmcv_pch.h'
# What the precompiled header holds, as written after #include.
PCH_INCLUDES = ('<torch/types.h>', )
NO_DEBUG_INFO = ('-g0', )

# `build <object>: compile <source>` in torch's ninja file; paths escape ':'
# and ' ' with '$'.
_COMPILE_EDGE = re.compile(r'^build ((?:\$.|[^$:])+): compile (.+)$')


class NinjaFormatError(ValueError):
    """The ninja file does not have the shape this builder edits."""


# ATen.h's first line of defence: "#error C++17 or later compatible
# compiler is required to use ATen." (C++20 from torch 2.14).
_ATEN_STANDARD = re.compile(
    r'^#\s*error\s+C\+\+(\d+) or later compatible compiler', re.M)


def patch_setup_source(text, standard='c++17'):
    """Return mmcv's setup.py with ``-std=c++14`` made ``-std=<standard>``.

    torch >= 2.1 headers refuse C++14 ("C++17 or later compatible compiler is
    required"), torch >= 2.14 headers refuse C++17. Raises ``ValueError`` if
    the text has no ``-std=c++14`` (not the setup.py of mmcv 2.0.x) or if
    ``standard`` is not ``c++NN``.
    """
    if not re.fullmatch(r'c\+\+\d\d', standard):
        raise ValueError(f"standard must look like 'c++17', got {standard!r}")
    if '-std=c++14' not in text:
        raise ValueError("mmcv setup.py: no '-std=c++14' to patch; this "
                         'builder expects the setup.py of mmcv 2.0.x')
    return text.replace('-std=c++14', f'-std={standard}')


def torch_cxx_standard(include_dir=None):
    """The C++ standard the headers of the installed torch require.

    Read from ``ATen/ATen.h``'s ``#error C++NN or later ...`` guard;
    ``'c++17'`` when the header has no such line.

    Args:
        include_dir (str, optional): torch's include folder. Defaults to
            the installed torch's (``torch/include``).

    Returns:
        str: e.g. ``'c++17'`` or ``'c++20'``.
    """
    if include_dir is None:
        # not through torch.utils.cpp_extension: importing it fixes
        # CUDA_HOME, which prepare_cuda_build may still set
        import torch
        include_dir = osp.join(osp.dirname(torch.__file__), 'include')
    header = osp.join(include_dir, 'ATen', 'ATen.h')
    with open(header) as f:
        match = _ATEN_STANDARD.search(f.read())
    return f'c++{match.group(1)}' if match else 'c++17'


def wheel_cuda_home(cuda_version, site_dirs=None):
    """The CUDA toolkit that NVIDIA's wheels installed, or None.

    ``nvidia-cuda-nvcc`` and ``nvidia-cuda-runtime`` (CUDA >= 13) unpack
    into one prefix, ``site-packages/nvidia/cu<major>/`` with ``bin/nvcc``
    and ``include/cuda_runtime.h``: a ``CUDA_HOME`` as torch expects it.

    Args:
        cuda_version (str): torch's CUDA version (``torch.version.cuda``),
            e.g. ``'13.0'``.
        site_dirs (Sequence[str], optional): where to look. Defaults to
            this interpreter's purelib and platlib.

    Returns:
        str | None: the prefix, if it has both nvcc and the runtime header.
    """
    if site_dirs is None:
        site_dirs = dict.fromkeys(
            sysconfig.get_path(k) for k in ('purelib', 'platlib'))
    major = cuda_version.split('.')[0]
    for site in site_dirs:
        home = osp.join(site, 'nvidia', f'cu{major}')
        if osp.isfile(osp.join(home, 'bin', 'nvcc')) and osp.isfile(
                osp.join(home, 'include', 'cuda_runtime.h')):
            return home
    return None


def link_unversioned_cudart(cuda_home, link_dir):
    """Make ``-lcudart`` find the CUDA runtime of ``cuda_home``.

    Toolkits installed from NVIDIA's wheels hold ``lib/libcudart.so.<N>``
    only; the linker's ``-lcudart`` (torch's ``CUDAExtension``) wants
    ``libcudart.so``. If ``cuda_home``'s ``lib64`` or ``lib`` lacks it,
    ``link_dir/libcudart.so`` is made a symlink to the versioned library.

    Returns:
        str | None: ``link_dir`` if a link was made (to go on
        ``LIBRARY_PATH``), None if the toolkit has ``libcudart.so``.

    Raises:
        FileNotFoundError: if there is no ``libcudart.so*`` at all.
    """
    for sub in ('lib64', 'lib'):
        if osp.exists(osp.join(cuda_home, sub, 'libcudart.so')):
            return None
    for sub in ('lib64', 'lib'):
        lib = osp.join(cuda_home, sub)
        versioned = sorted(f for f in (os.listdir(lib) if osp.isdir(lib)
                                       else ())
                           if re.fullmatch(r'libcudart\.so\.\d+', f))
        if versioned:
            os.makedirs(link_dir, exist_ok=True)
            link = osp.join(link_dir, 'libcudart.so')
            if osp.lexists(link):
                os.remove(link)
            os.symlink(osp.join(lib, versioned[-1]), link)
            return link_dir
    raise FileNotFoundError(
        f'no libcudart.so* in {cuda_home}/lib64 or {cuda_home}/lib: '
        'install nvidia-cuda-runtime (or a full CUDA toolkit)')


def prepare_cuda_build(build_dir, log=print):
    """Environment of a ``FORCE_CUDA=1`` build: ``CUDA_HOME`` and the link.

    Does nothing unless ``FORCE_CUDA=1``. Sets ``CUDA_HOME`` to the wheels'
    toolkit (:func:`wheel_cuda_home`) when it is unset and such a toolkit
    matches torch's CUDA major version, and adds the folder of
    :func:`link_unversioned_cudart` to ``LIBRARY_PATH``. Raises
    ``SystemExit`` with the fix when torch is a CPU build.
    """
    if os.environ.get('FORCE_CUDA', '0') != '1':
        return
    import torch
    if not torch.version.cuda:
        raise SystemExit(
            f'build_mmcv: FORCE_CUDA=1 needs a CUDA build of torch; this one '
            f'is {torch.__version__} (torch.version.cuda is None)')
    if not os.environ.get('CUDA_HOME') and not os.environ.get('CUDA_PATH'):
        home = wheel_cuda_home(torch.version.cuda)
        if home:
            os.environ['CUDA_HOME'] = home
            log(f'[build_mmcv] CUDA_HOME={home} (NVIDIA wheels)')
    if not os.environ.get('TORCH_CUDA_ARCH_LIST'):
        log('[build_mmcv] TORCH_CUDA_ARCH_LIST is not set: torch compiles '
            'for every architecture it knows, which multiplies the build '
            'time (set e.g. TORCH_CUDA_ARCH_LIST=9.0)')
    from torch.utils.cpp_extension import CUDA_HOME
    home = os.environ.get('CUDA_HOME') or os.environ.get('CUDA_PATH') \
        or CUDA_HOME
    if not home:
        raise SystemExit(
            'build_mmcv: FORCE_CUDA=1 but no CUDA toolkit found: pip install '
            f'"cuda-toolkit[nvcc,cccl]=={torch.version.cuda}.*" or set '
            'CUDA_HOME')
    link_dir = link_unversioned_cudart(home, osp.join(build_dir, 'cuda-link'))
    if link_dir:
        os.environ['LIBRARY_PATH'] = os.pathsep.join(
            p for p in (link_dir, os.environ.get('LIBRARY_PATH')) if p)
        log(f'[build_mmcv] -lcudart links {link_dir}/libcudart.so')


def _ninja_escape_path(path):
    return path.replace('$', '$$').replace(' ', '$ ').replace(':', '$:')


def _shell_flag_arg(path):
    # A flag's value in a ninja command line: quoted for the shell, '$'
    # escaped for ninja.
    return shlex.quote(path).replace('$', '$$')


def add_pch_to_ninja(text, header, extra_post_cflags=NO_DEBUG_INFO):
    """Rewrite a ninja file written by ``torch.utils.cpp_extension``.

    Adds an edge that precompiles ``header`` (into ``header + '.gch'``) with
    exactly the C++ compile rule's flags, makes every C++ ``compile`` edge
    depend on it and force-include it, and appends ``extra_post_cflags`` to
    ``post_cflags`` (so the precompiled header and the objects share them).
    CUDA (``cuda_compile``) edges are left alone.

    Args:
        text (str): the ninja file.
        header (str): absolute path of the header to precompile.
        extra_post_cflags (Sequence[str]): flags appended to every C++
            compile. Defaults to ``('-g0', )``.

    Returns:
        str: the rewritten ninja file.

    Raises:
        NinjaFormatError: if the file has no ``post_cflags`` line, no
            ``rule compile`` with a ``command``, no C++ compile edge, or an
            edge that already has extra dependencies.
    """
    if not osp.isabs(header):
        raise ValueError(f'header must be an absolute path, got {header!r}')
    gch = header + '.gch'
    lines = text.splitlines()
    out = []
    seen_post = seen_command = False
    edges = 0
    in_compile_rule = False
    for line in lines:
        if in_compile_rule and not line.startswith((' ', '\t')):
            in_compile_rule = False
        if line.startswith('post_cflags =') or line.startswith('post_cflags='):
            if seen_post:
                raise NinjaFormatError('two post_cflags lines')
            seen_post = True
            line = ' '.join([line.rstrip(), *extra_post_cflags])
            out.append(line)
            out.append('pch_cflags = -include '
                       f'{_shell_flag_arg(header)} -Winvalid-pch')
            continue
        if line.strip() == 'rule compile':
            in_compile_rule = True
        elif in_compile_rule and line.strip().startswith('command ='):
            if seen_command:
                raise NinjaFormatError('two commands in rule compile')
            if ' -c $in ' not in line:
                raise NinjaFormatError(
                    f'unexpected compile command: {line.strip()!r}')
            seen_command = True
            pch_command = line.replace(' -c $in ', ' -x c++-header -c $in ')
            line = line.rstrip() + ' $pch_cflags'
        match = _COMPILE_EDGE.match(line)
        if match:
            if '|' in match.group(2):
                raise NinjaFormatError(
                    f'compile edge with extra dependencies: {line!r}')
            edges += 1
            line = f'{line.rstrip()} | {_ninja_escape_path(gch)}'
        out.append(line)
    if not (seen_post and seen_command and edges):
        raise NinjaFormatError(
            f'expected post_cflags, rule compile and C++ compile edges; found '
            f'post_cflags={seen_post}, command={seen_command}, edges={edges}')
    # The precompiled header's rule and edge go before the first build edge.
    first_build = next(i for i, x in enumerate(out) if x.startswith('build '))
    out[first_build:first_build] = [
        'rule mmcv_pch', pch_command, '  depfile = $out.d', '  deps = gcc',
        '',
        f'build {_ninja_escape_path(gch)}: mmcv_pch '
        f'{_ninja_escape_path(header)}', ''
    ]
    return '\n'.join(out) + '\n'


def compiler_is_gcc(compiler):
    """Whether ``compiler`` is GCC (not clang, which also defines __GNUC__)."""
    try:
        macros = subprocess.run([compiler, '-dM', '-E', '-x', 'c++', '-'],
                                input='', capture_output=True, text=True,
                                check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return False
    return '__GNUC__' in macros and '__clang__' not in macros


def write_pch_header(path, includes=PCH_INCLUDES):
    """Write the header to precompile: one ``#include`` per entry."""
    with open(path, 'w') as f:
        f.write('// Precompiled once per mmcv build (build_mmcv.py).\n')
        f.writelines(f'#include {name}\n' for name in includes)


def install_ninja_hook(use_pch=True, debug_info=False, log=print,
                       includes=PCH_INCLUDES):
    """Make torch's ninja file writer apply :func:`add_pch_to_ninja`.

    Args:
        use_pch (bool): precompile ``includes`` and force-include them in
            every C++ file. Ignored (with a message) if the compiler is not
            GCC. Defaults to True.
        debug_info (bool): keep the ``-g`` of Python's CFLAGS. Defaults to
            False (``-g0``).
        log (Callable[[str], None]): where messages go. Defaults to print.
        includes (Sequence[str]): the precompiled header's includes, as
            written after ``#include``. Defaults to ``('<torch/types.h>', )``.
    """
    from torch.utils import cpp_extension

    extra = () if debug_info else NO_DEBUG_INFO
    if use_pch and not compiler_is_gcc(cpp_extension.get_cxx_compiler()):
        log('[build_mmcv] the C++ compiler is not GCC: no precompiled header')
        use_pch = False
    if not use_pch and not extra:
        return
    original = cpp_extension._write_ninja_file

    def write_ninja_file(path, *args, **kwargs):
        original(path, *args, **kwargs)
        with open(path) as f:
            text = f.read()
        header = osp.join(osp.dirname(osp.abspath(path)), PCH_HEADER)
        try:
            if use_pch:
                write_pch_header(header, includes)
                text = add_pch_to_ninja(text, header, extra)
            else:
                text, found = re.subn(
                    r'^(post_cflags ?=.*)$',
                    lambda m: ' '.join([m.group(1), *extra]),
                    text, count=1, flags=re.M)
                if not found:
                    raise NinjaFormatError('no post_cflags line')
        except NinjaFormatError as e:
            log(f'[build_mmcv] ninja file left as torch wrote it ({e})')
            return
        with open(path, 'w') as f:
            f.write(text)
        log(f'[build_mmcv] {path}: '
            + ('precompiled header, ' if use_pch else '')
            + ' '.join(extra))

    cpp_extension._write_ninja_file = write_ninja_file


def build_wheel(src, out_dir, use_pch=True, debug_info=False):
    """Patch ``src/setup.py`` and run ``setup.py bdist_wheel -d out_dir``."""
    src = osp.abspath(src)
    out_dir = osp.abspath(out_dir)
    setup_py = osp.join(src, 'setup.py')
    with open(setup_py) as f:
        text = f.read()
    # before anything imports torch.utils.cpp_extension, which reads
    # CUDA_HOME once, at import
    prepare_cuda_build(osp.join(src, 'build'))
    if '-std=c++14' in text:
        with open(setup_py, 'w') as f:
            f.write(patch_setup_source(text, torch_cxx_standard()))
    os.environ.setdefault('MMCV_WITH_OPS', '1')
    # pip installs ninja next to this interpreter (a venv's bin/), which is
    # not necessarily on PATH; without ninja torch silently compiles one file
    # at a time through distutils.
    os.environ['PATH'] = os.pathsep.join(
        [osp.dirname(sys.executable), os.environ.get('PATH', '')])
    from torch.utils.cpp_extension import is_ninja_available
    if not is_ninja_available():
        raise SystemExit('build_mmcv: ninja not found (pip install ninja)')
    install_ninja_hook(use_pch=use_pch, debug_info=debug_info)
    os.chdir(src)
    sys.path.insert(0, src)
    sys.argv = ['setup.py', 'bdist_wheel', '-d', out_dir]
    import setuptools  # noqa: F401  (as pip does: before setup.py runs)
    runpy.run_path(setup_py, run_name='__main__')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('src', help='unpacked mmcv sdist')
    parser.add_argument('out_dir', help='where the wheel is written')
    parser.add_argument('--no-pch', action='store_true',
                        help='do not use a precompiled header')
    parser.add_argument('--debug-info', action='store_true',
                        help='keep Python\'s -g (debug information)')
    args = parser.parse_args(argv)
    build_wheel(args.src, args.out_dir, use_pch=not args.no_pch,
                debug_info=args.debug_info)


if __name__ == '__main__':
    main()
