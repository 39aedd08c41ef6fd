# SPDX-License-Identifier: MIT
"""The marked lines of a Python test program: each allocation statement a
test checks carries a comment made of the word "site", a colon and a name."""


def sites(path):
    """{name: line number} of the marked lines of the file at path."""
    found = {}
    marker = '# ' + 'site: '  # not itself a marked line
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            if marker in line:
                found[line.split(marker)[1].strip()] = lineno
    return found
