# SPDX-License-Identifier: MIT
"""--user: the -c command runs as another user, without root's ids or capabilities."""

import os
import shutil

import __main__ as h


def t_user_command(ctx):
    """-c as --user nobody: the command has nobody's uid, groups and no capabilities, and its leaks are exact."""
    d = ctx.tmpdir()
    os.chmod(d, 0o777)
    script = ('id -u > {d}/uid; id -G > {d}/gids; grep -E "^Cap(Eff|Prm|Amb)" /proc/self/status'
              ' > {d}/caps; exec {leaky} run').format(d=d, leaky=ctx.prog('leaky'))
    p = h.run_to_end(ctx, ['-T', '0', '--format', 'json', '--user', 'nobody', '-c',
                           "sh -c '%s'" % script])
    h.expect(p.popen.returncode == 0, 'exit status %s%s' % (p.popen.returncode, h.tail(p)))
    with open(os.path.join(d, 'uid')) as f:
        uid = f.read().strip()
    with open(os.path.join(d, 'gids')) as f:
        gids = f.read().split()
    with open(os.path.join(d, 'caps')) as f:
        caps = dict(line.split(':') for line in f.read().splitlines())
    h.expect(uid == '65534', 'the command ran as uid %s, not nobody (65534)' % uid)
    h.expect(gids == ['65534'], "the command's groups are %s, expected only nogroup" % gids)
    h.expect(all(int(v, 16) == 0 for v in caps.values()), 'the command has capabilities: %s' % caps)
    rep = h.final_report(p)
    leaky = [x for x in rep['processes'] if x['comm'] == 'leaky']
    h.expect(len(leaky) == 1, '%d leaky processes in the report' % len(leaky))
    h.check_leaky(leaky[0], exited=True)


def t_err_user(ctx):
    """--user: an unknown user, or a program the user may not run: one line, exit 1, nothing run as root."""
    p = h.error_run(ctx, ['--user', 'no-such-user-lt', '-c', 'true'])
    h.expect(p.popen.returncode == 1, 'unknown user: exit %s, want 1' % p.popen.returncode)
    h.expect('no-such-user-lt' in p.err_lines[0], 'unknown user: %r' % p.err_lines[0])
    d = ctx.tmpdir()
    private = os.path.join(d, 'private-leaky')
    shutil.copy(ctx.prog('leaky'), private)
    os.chmod(private, 0o700)  # root may run it, nobody may not
    p = h.error_run(ctx, ['--user', 'nobody', '-c', private + ' run'])
    h.expect(p.popen.returncode == 1, 'unrunnable program: exit %s, want 1' % p.popen.returncode)
    h.expect('Permission denied' in p.err_lines[0], 'unrunnable program: %r' % p.err_lines[0])


SCENARIOS = [
    ('user_command', t_user_command),
    ('err_user', t_err_user),
]
