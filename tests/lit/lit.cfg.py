# tests/lit/lit.cfg.py — lit configuration for rivet's tests.
#
# Parameters (lit --param NAME=VALUE):
#   rivet_build   the build directory whose bin/rivet is under test
#                 (default: build/ at the top of the repository)
#   executors     the executor kinds end-to-end tests run rivet with, each
#                 compared with the native run (default: "in-process spawn";
#                 e.g. --param executors=in-process for a quicker run)
#
# Substitutions: %rivet, %cc (gcc), %clang (clang-14), %cxx (g++),
# %clangxx (clang++-14), %e2e (the end-to-end
# comparison script), %expect_exit (exact exit status check), %corrupt
# (patch a field of an ELF file), %ar_edit (patch an ar member header),
# %syslibs (the directory of the distribution's static libraries), %python; FileCheck, llvm-mc, split-file,
# yaml2obj, llvm-objdump and not with full llvm-14 paths.

import os
import re
import shutil

import lit.formats

config.name = 'rivet'
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = ['.test', '.s']
config.excludes = ['Inputs', 'tools', 'lit.cfg.py']

tests_dir = os.path.dirname(os.path.abspath(__file__))
repo_root = os.path.dirname(os.path.dirname(tests_dir))
build = lit_config.params.get('rivet_build', os.path.join(repo_root, 'build'))
build = os.path.abspath(build)

config.test_source_root = tests_dir
config.test_exec_root = os.path.join(build, 'lit')

llvm_bin = '/usr/lib/llvm-14/bin'
tools_dir = os.path.join(tests_dir, 'tools')
python = shutil.which('python3') or 'python3'


def llvm_tool(name):
    path = os.path.join(llvm_bin, name)
    if not os.path.exists(path):
        lit_config.fatal('%s not found (run scripts/install-deps.sh)' % path)
    return path


# A runaway link or program must not hang the suite.
timeout = shutil.which('timeout')
rivet = os.path.join(build, 'bin', 'rivet')
rivet_cmd = ('%s -k 5 120 %s' % (timeout, rivet)) if timeout else rivet

# `not` must refuse a crash (only `not --crash` accepts one). lit's internal
# `not` turns a death by signal into success, so always use a real program.
not_tool = os.path.join(llvm_bin, 'not')
if not os.path.exists(not_tool):
    not_tool = '%s %s' % (python, os.path.join(tools_dir, 'not.py'))

# Any sanitizer report in checked output fails the check, even when the
# expected lines are there too (a leak after a correct error message).
filecheck = ('%s --implicit-check-not=Sanitizer '
             '--implicit-check-not="runtime error:"' % llvm_tool('FileCheck'))

config.substitutions.append(('%rivet', rivet_cmd))
# (before %clang, which is a prefix of it)
config.substitutions.append(('%clangxx', '/usr/bin/clang++-14'))
config.substitutions.append(('%clang', '/usr/bin/clang-14'))
config.substitutions.append(('%cc', '/usr/bin/gcc'))
config.substitutions.append(('%cxx', '/usr/bin/g++'))
config.substitutions.append(('%python', python))
config.substitutions.append(
    ('%e2e', 'bash %s --rivet %s' % (os.path.join(repo_root, 'tests', 'e2e',
                                                  'compare.sh'), rivet)))
config.substitutions.append(
    ('%expect_exit', '%s %s' % (python, os.path.join(tools_dir,
                                                     'expect-exit.py'))))
config.substitutions.append(
    ('%corrupt', '%s %s' % (python, os.path.join(tools_dir, 'corrupt.py'))))
# Static libraries of the distribution (scripts/install-deps.sh installs
# the -dev packages); each present one is a feature, e.g. REQUIRES: libz.a.
syslibs = '/usr/lib/x86_64-linux-gnu'
config.substitutions.append(('%syslibs', syslibs))
for lib in ['libsqlite3.a', 'libz.a', 'libbz2.a', 'libexpat.a', 'libcrypto.a']:
    if os.path.exists(os.path.join(syslibs, lib)):
        config.available_features.add(lib)
config.substitutions.append(
    ('%ar_edit', '%s %s' % (python, os.path.join(tools_dir, 'ar-edit.py'))))


def tool_subst(name, replacement):
    # Whole words only: not inside paths, file names or option names.
    pattern = r'(?<![\w/.%-])' + re.escape(name) + r'(?![\w/.-])'
    config.substitutions.append((pattern, replacement.replace('\\', '\\\\')))


tool_subst('FileCheck', filecheck)
tool_subst('not', not_tool)
for t in ['llvm-mc', 'split-file', 'yaml2obj', 'llvm-objdump', 'llvm-readelf',
          'llvm-objcopy', 'llvm-ar']:
    tool_subst(t, llvm_tool(t))

config.environment['PATH'] = os.pathsep.join(
    [llvm_bin, '/usr/local/bin', '/usr/bin', '/bin',
     config.environment.get('PATH', '')])
config.environment['RIVET_TEST_BUILD'] = build
# %e2e runs every program in-process and in a spawned rivet-executor.
config.environment['RIVET_EXECUTORS'] = lit_config.params.get(
    'executors', 'in-process spawn')

if 'asan' in os.path.basename(build.rstrip('/')):
    config.available_features.add('asan')
    # Keep reports readable and fatal; leave the rest to the defaults.
    config.environment.setdefault('ASAN_OPTIONS', 'detect_leaks=1')
    config.environment.setdefault('UBSAN_OPTIONS', 'print_stacktrace=1')
if os.path.exists(rivet):
    config.available_features.add('rivet')
