#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""check_layers: src/ is laid out by stage of the data path, and a header
of an earlier stage must not include one of a later stage; no header may
reach itself through its includes.

Stages, in data-path order, above base (helpers every stage may use): attach (probes on allocators, processes to
trace), consume (ring-buffer records into live tables), unwind (rules for
the kernel's stack walk), symbols (ELF, DWARF, names), python (CPython
interpreters), holders (who holds leaked Python objects: the heap walked
from outside), report (the model, verdicts, ages, snapshots, diff), output
(writers, agent, HTTP). On top: main.c, and session.h/.c, the run that
gathers every stage's state (stage headers name struct lt_session only
opaquely); options.h, plain settings that include nothing of ours, counts
as base.

Usage: check_layers.py [SRC_DIR]   exit 0, or 1 with one line per problem.
"""
import os
import re
import sys

STAGES = ['base', 'attach', 'consume', 'unwind', 'symbols', 'python', 'holders', 'report', 'output']

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


TOP = ('main.c', 'session.c', 'session.h', 'options.c', 'options.h')


def stage_of(rel):
    top = rel.split('/')[0]
    if top in STAGES:
        return STAGES.index(top)
    return 0 if rel == 'options.h' else len(STAGES)


def check(src):
    """The problems of the tree at src, one line each."""
    headers = {}
    problems = []
    for d, _, files in os.walk(src):
        for f in files:
            path = os.path.join(d, f)
            rel = os.path.relpath(path, src)
            if f.endswith(('.c', '.h')) and rel.split('/')[0] not in STAGES and \
                    rel not in TOP:
                problems.append('%s: outside the stage folders' % rel)
            if f.endswith('.h'):
                with open(path) as fh:
                    headers[rel] = INCLUDE.findall(fh.read())
    for h, incs in sorted(headers.items()):
        for inc in incs:
            if inc not in headers:
                continue  # include/, build/ (the skeleton), system
            if stage_of(inc) > stage_of(h):
                problems.append('%s includes %s, of a later stage' % (h, inc))
    # Cycles: a depth-first walk of the header graph.
    state = {}

    def visit(h, path):
        state[h] = 1
        for inc in headers[h]:
            if inc not in headers:
                continue
            if state.get(inc) == 1:
                cycle = path[path.index(inc):] + [inc] if inc in path else [h, inc]
                problems.append('include cycle: %s' % ' -> '.join(cycle))
            elif not state.get(inc):
                visit(inc, path + [inc])
        state[h] = 2

    for h in sorted(headers):
        if not state.get(h):
            visit(h, [h])
    return problems, len(headers)


def self_test():
    """The check must see each kind of problem: a tree with one of each."""
    import tempfile
    files = {
        'attach/low.h': '#include "report/high.h"\n',      # a later stage
        'report/high.h': '#include "report/loop.h"\n',
        'report/loop.h': '#include "report/high.h"\n',     # a cycle
        'consume/uses_session.h': '#include "session.h"\n',  # the top
        'session.h': '#include "options.h"\n',
        'options.h': '',
        'stray.c': '',                                      # outside the stages
    }
    want = ['attach/low.h includes report/high.h', 'include cycle:',
            'consume/uses_session.h includes session.h', 'stray.c: outside']
    with tempfile.TemporaryDirectory() as d:
        for rel, text in files.items():
            os.makedirs(os.path.dirname(os.path.join(d, rel)), exist_ok=True)
            with open(os.path.join(d, rel), 'w') as fh:
                fh.write(text)
        problems, _ = check(d)
    missed = [w for w in want if not any(w in p for p in problems)]
    for w in missed:
        print('check_layers: self-test: not caught: %s' % w)
    return not missed and len(problems) == len(want)


def main(argv):
    if not self_test():
        return 1
    src = argv[1] if len(argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'src')
    problems, nheaders = check(src)
    for p in problems:
        print('check_layers: %s' % p)
    if not problems:
        print('check_layers: %d headers in %d stages, no later-stage includes, no cycles '
              '(self-test: each kind caught)' % (nheaders, len(STAGES)))
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
