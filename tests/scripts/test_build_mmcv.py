"""scripts/build_mmcv.py: the ninja rewrite that precompiles a header.

The mmcv build itself runs in `make setup`; here the rewrite is checked on
the ninja files torch writes (C++ and CUDA) and end to end on a tiny fake
extension compiled through torch's own JIT builder with the hook installed.
"""
import ctypes
import importlib.util
import inspect
import os
import os.path as osp
import subprocess
import sys

import pytest
from torch.utils import cpp_extension

from tests.conftest import REPO_ROOT


def _load_builder():
    spec = importlib.util.spec_from_file_location(
        'build_mmcv', osp.join(REPO_ROOT, 'scripts', 'build_mmcv.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build_mmcv = _load_builder()


def _torch_ninja_file(tmp_path, sources, with_cuda=False):
    """The ninja file torch's setup.py backend writes for ``sources``."""
    path = str(tmp_path / 'build.ninja')
    values = dict(
        path=path,
        cflags=['-DNDEBUG', '-g', '-O3', '-fPIC', '-I/x/include'],
        post_cflags=['-std=c++17', '-DTORCH_EXTENSION_NAME=_ext'],
        cuda_cflags=['-I/x/include'] if with_cuda else None,
        cuda_post_cflags=['-DMMCV_WITH_CUDA'] if with_cuda else None,
        sources=sources,
        objects=[osp.splitext(s)[0] + '.o' for s in sources],
        ldflags=None, library_target=None,
        with_cuda=with_cuda, with_sycl=False)
    params = inspect.signature(cpp_extension._write_ninja_file).parameters
    cpp_extension._write_ninja_file(
        **{name: values.get(name) for name in params})
    with open(path) as f:
        return f.read()


def _ninja_vars(text):
    return dict(
        line.split(' = ', 1) for line in text.splitlines()
        if ' = ' in line and not line.startswith((' ', 'build ')))


def test_patch_setup_source():
    text = "args = ['-std=c++14']\nnvcc = ['-std=c++14', '-O3']\n"
    patched = build_mmcv.patch_setup_source(text)
    assert patched == "args = ['-std=c++17']\nnvcc = ['-std=c++17', '-O3']\n"
    with pytest.raises(ValueError, match='c\\+\\+14'):
        build_mmcv.patch_setup_source(patched)


def test_patch_setup_source_to_another_standard():
    text = "args = ['-std=c++14']\n"
    assert build_mmcv.patch_setup_source(text, 'c++20') == \
        "args = ['-std=c++20']\n"
    with pytest.raises(ValueError, match='standard'):
        build_mmcv.patch_setup_source(text, '20')


@pytest.mark.parametrize('line, standard', [
    ('#error C++20 or later compatible compiler is required to use ATen.',
     'c++20'),
    ('#error C++17 or later compatible compiler is required to use ATen.',
     'c++17'),
    ('// no guard', 'c++17'),
])
def test_torch_cxx_standard_reads_the_aten_guard(tmp_path, line, standard):
    (tmp_path / 'ATen').mkdir()
    (tmp_path / 'ATen' / 'ATen.h').write_text(
        f'#pragma once\n#if !defined(_MSC_VER) && __cplusplus < 201703L\n'
        f'{line}\n#endif\n')
    assert build_mmcv.torch_cxx_standard(str(tmp_path)) == standard


def test_torch_cxx_standard_of_the_installed_torch():
    # with the standard the headers ask for they preprocess (the guard is
    # an #error), with the one below they do not
    standard = build_mmcv.torch_cxx_standard()
    below = {'c++17': 'c++14', 'c++20': 'c++17'}[standard]
    include = osp.join(osp.dirname(torch_file()), 'include')
    command = ['c++', '-E', '-o', os.devnull, '-x', 'c++', '-I', include,
               '-']
    source = '#include <ATen/ATen.h>\n'
    ok = subprocess.run(command + [f'-std={standard}'], input=source,
                        text=True, capture_output=True)
    assert ok.returncode == 0, ok.stderr[-2000:]
    refused = subprocess.run(command + [f'-std={below}'], input=source,
                             text=True, capture_output=True)
    assert refused.returncode != 0
    assert 'or later compatible compiler is required' in refused.stderr


def torch_file():
    import torch
    return torch.__file__


def _fake_cuda_wheels(site, major='13', header=True, lib='lib',
                      names=('libcudart.so.13', )):
    home = site / 'nvidia' / f'cu{major}'
    (home / 'bin').mkdir(parents=True)
    (home / 'bin' / 'nvcc').write_text('')
    (home / 'include').mkdir()
    if header:
        (home / 'include' / 'cuda_runtime.h').write_text('')
    (home / lib).mkdir()
    for name in names:
        (home / lib / name).write_text('')
    return home


def test_wheel_cuda_home(tmp_path):
    home = _fake_cuda_wheels(tmp_path / 'site')
    sites = [str(tmp_path / 'other'), str(tmp_path / 'site')]
    assert build_mmcv.wheel_cuda_home('13.0', sites) == str(home)
    # another major version, or a toolkit without the runtime headers
    assert build_mmcv.wheel_cuda_home('12.8', sites) is None
    _fake_cuda_wheels(tmp_path / 'bare', header=False)
    assert build_mmcv.wheel_cuda_home('13.0', [str(tmp_path / 'bare')]) \
        is None


def test_link_unversioned_cudart(tmp_path):
    home = _fake_cuda_wheels(tmp_path / 'site',
                             names=('libcudart.so.12', 'libcudart.so.13',
                                    'libcudart_static.a'))
    link_dir = str(tmp_path / 'links')
    assert build_mmcv.link_unversioned_cudart(str(home), link_dir) == \
        link_dir
    link = osp.join(link_dir, 'libcudart.so')
    assert os.readlink(link) == str(home / 'lib' / 'libcudart.so.13')
    # made again over an old link
    assert build_mmcv.link_unversioned_cudart(str(home), link_dir) == \
        link_dir
    # a toolkit that has libcudart.so needs no link
    full = _fake_cuda_wheels(tmp_path / 'full', lib='lib64',
                             names=('libcudart.so', ))
    assert build_mmcv.link_unversioned_cudart(str(full), link_dir) is None
    empty = _fake_cuda_wheels(tmp_path / 'empty', names=())
    with pytest.raises(FileNotFoundError, match='nvidia-cuda-runtime'):
        build_mmcv.link_unversioned_cudart(str(empty), link_dir)


def test_prepare_cuda_build(tmp_path, monkeypatch):
    import torch
    monkeypatch.delenv('FORCE_CUDA', raising=False)
    monkeypatch.setenv('LIBRARY_PATH', '/keep')
    build_mmcv.prepare_cuda_build(str(tmp_path))  # no FORCE_CUDA: nothing
    assert os.environ['LIBRARY_PATH'] == '/keep'
    monkeypatch.setenv('FORCE_CUDA', '1')
    if torch.version.cuda is None:
        with pytest.raises(SystemExit, match='needs a CUDA build of torch'):
            build_mmcv.prepare_cuda_build(str(tmp_path))
        monkeypatch.setattr(torch.version, 'cuda', '13.0')
    # a CUDA torch: the toolkit of CUDA_HOME gets its libcudart.so link
    home = _fake_cuda_wheels(tmp_path / 'site')
    monkeypatch.setenv('CUDA_HOME', str(home))
    monkeypatch.setenv('TORCH_CUDA_ARCH_LIST', '9.0')
    messages = []
    build_mmcv.prepare_cuda_build(str(tmp_path / 'build'), messages.append)
    link_dir = str(tmp_path / 'build' / 'cuda-link')
    assert os.environ['LIBRARY_PATH'] == f'{link_dir}{os.pathsep}/keep'
    assert osp.islink(osp.join(link_dir, 'libcudart.so'))
    assert messages == [f'[build_mmcv] -lcudart links {link_dir}/libcudart.so']


def test_add_pch_to_cxx_ninja_file(tmp_path):
    sources = ['/src/a.cpp', '/src/cpu/b.cpp']
    text = _torch_ninja_file(tmp_path, sources)
    header = '/build dir/mmcv_pch.h'
    new = build_mmcv.add_pch_to_ninja(text, header)
    gch = '/build$ dir/mmcv_pch.h.gch'
    lines = new.splitlines()
    # Every C++ object waits for the precompiled header and includes it.
    for src in sources:
        obj = osp.splitext(src)[0] + '.o'
        assert f'build {obj}: compile {src} | {gch}' in lines
    assert f'build {gch}: mmcv_pch /build$ dir/mmcv_pch.h' in lines
    variables = _ninja_vars(new)
    assert variables['post_cflags'].split() == [
        '-std=c++17', '-DTORCH_EXTENSION_NAME=_ext', '-g0']
    assert variables['pch_cflags'] == \
        "-include '/build dir/mmcv_pch.h' -Winvalid-pch"
    # The header is compiled with exactly the objects' flags.
    compile_cmd = lines[lines.index('rule compile') + 1].strip()
    pch_cmd = lines[lines.index('rule mmcv_pch') + 1].strip()
    assert compile_cmd.endswith(' $post_cflags $pch_cflags')
    assert pch_cmd == compile_cmd[:-len(' $pch_cflags')].replace(
        ' -c $in ', ' -x c++-header -c $in ')
    # Nothing else changed: the rewrite only adds.
    added = set(lines) - set(text.splitlines())
    removed = set(text.splitlines()) - set(lines)
    assert len(removed) == 2 + len(sources)  # post_cflags, command, edges
    assert all(x.startswith(('build ', 'post_cflags', '  command'))
               for x in removed)
    assert 'rule mmcv_pch' in added


def test_add_pch_leaves_cuda_sources_to_nvcc(tmp_path, monkeypatch):
    # Writing the file needs only nvcc's path, not nvcc.
    monkeypatch.setattr(cpp_extension, 'CUDA_HOME', '/usr/local/cuda')
    sources = ['/src/a.cpp', '/src/cuda/k.cu']
    text = _torch_ninja_file(tmp_path, sources, with_cuda=True)
    new = build_mmcv.add_pch_to_ninja(text, '/b/mmcv_pch.h')
    assert 'build /src/cuda/k.o: cuda_compile /src/cuda/k.cu' in \
        new.splitlines()
    assert 'build /src/a.o: compile /src/a.cpp | /b/mmcv_pch.h.gch' in \
        new.splitlines()
    old_vars, new_vars = _ninja_vars(text), _ninja_vars(new)
    for name in ('cuda_cflags', 'cuda_post_cflags', 'cflags'):
        assert new_vars[name] == old_vars[name]
    cuda_rule = new.split('rule cuda_compile', 1)[1].split('rule ', 1)[0]
    assert '$pch_cflags' not in cuda_rule and '-g0' not in cuda_rule


@pytest.mark.parametrize('text, message', [
    ('rule compile\n  command = c++ -c $in -o $out\n'
     'build a.o: compile a.cpp\n', 'post_cflags'),
    ('post_cflags = -O3\nbuild a.o: compile a.cpp\n', 'command=False'),
    ('post_cflags = -O3\nrule compile\n  command = c++ -c $in -o $out\n',
     'edges=0'),
    ('post_cflags = -O3\nrule compile\n  command = c++ -c $in -o $out\n'
     'build a.o: compile a.cpp | gen.h\n', 'extra dependencies'),
], ids=['no post_cflags', 'no compile rule', 'no edge', 'extra deps'])
def test_add_pch_rejects_unexpected_ninja_files(text, message):
    with pytest.raises(build_mmcv.NinjaFormatError, match=message):
        build_mmcv.add_pch_to_ninja(text, '/b/mmcv_pch.h')


def test_add_pch_needs_an_absolute_header():
    with pytest.raises(ValueError, match='absolute'):
        build_mmcv.add_pch_to_ninja('', 'mmcv_pch.h')


def _build_fake_extension(tmp_path, monkeypatch, use_pch):
    """Compile two C++ files that include probe.h through torch's JIT
    builder with the hook installed; return the library and the headers
    each object read."""
    src = tmp_path / 'src'
    src.mkdir()
    (src / 'probe.h').write_text(
        '#pragma once\n#include <vector>\n'
        'inline int probe() { return int(std::vector<int>(42).size()); }\n')
    for name, offset in (('a', 0), ('b', 1)):
        (src / f'{name}.cpp').write_text(
            f'#include "probe.h"\n'
            f'extern "C" int {name}() {{ return probe() + {offset}; }}\n')
    build = tmp_path / 'build'
    build.mkdir()
    # pip's ninja sits next to the interpreter; torch looks on PATH.
    monkeypatch.setenv('PATH', os.pathsep.join(
        [osp.dirname(sys.executable), os.environ['PATH']]))
    monkeypatch.setattr(cpp_extension, '_write_ninja_file',
                        cpp_extension._write_ninja_file)
    messages = []
    build_mmcv.install_ninja_hook(
        use_pch=use_pch, log=messages.append,
        includes=(f'"{src / "probe.h"}"', ))
    cpp_extension.load(
        f'fake_pch_{int(use_pch)}', [str(src / 'a.cpp'), str(src / 'b.cpp')],
        build_directory=str(build), is_python_module=False)
    deps = subprocess.run(['ninja', '-t', 'deps'], cwd=build, check=True,
                          capture_output=True, text=True).stdout
    library = ctypes.CDLL(str(build / f'fake_pch_{int(use_pch)}.so'))
    return library, deps, messages, build


def test_hook_builds_with_the_precompiled_header(tmp_path, monkeypatch):
    if not build_mmcv.compiler_is_gcc(cpp_extension.get_cxx_compiler()):
        pytest.fail('the mmcv build needs GCC (c++ is not GCC here)')
    library, deps, messages, build = _build_fake_extension(
        tmp_path, monkeypatch, use_pch=True)
    assert library.a() == 42 and library.b() == 43
    assert (build / 'mmcv_pch.h.gch').is_file()
    assert any('precompiled header, -g0' in m for m in messages)
    # GCC read probe.h once, into the .gch; the objects did not read it.
    records = {r.split(':', 1)[0]: r for r in deps.strip().split('\n\n')}
    assert sorted(records) == sorted(
        ['a.o', 'b.o', str(build / 'mmcv_pch.h.gch')])
    assert 'probe.h' in records[str(build / 'mmcv_pch.h.gch')]
    assert 'probe.h' not in records['a.o']
    assert 'probe.h' not in records['b.o']


def test_hook_without_pch_reads_the_header_in_every_object(
        tmp_path, monkeypatch):
    library, deps, messages, build = _build_fake_extension(
        tmp_path, monkeypatch, use_pch=False)
    assert library.a() == 42 and library.b() == 43
    assert not (build / 'mmcv_pch.h.gch').exists()
    records = {r.split(':', 1)[0]: r for r in deps.strip().split('\n\n')}
    assert sorted(records) == ['a.o', 'b.o']
    assert all('probe.h' in r for r in records.values())
