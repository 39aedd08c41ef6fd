# SPDX-License-Identifier: MIT
"""tools/deploy: the systemd unit and the DaemonSet give leaktrace exactly the
capabilities it checks for, and those are enough to trace other users'
processes exactly, as an unprivileged uid."""

import gzip
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

import __main__ as h

REPO = os.path.normpath(os.path.join(h.HERE, '..', '..'))
UNIT = os.path.join(REPO, 'tools', 'deploy', 'leaktrace.service')
DAEMONSET = os.path.join(REPO, 'tools', 'deploy', 'daemonset.yaml')
WEB = os.path.join(REPO, 'tools', 'deploy', 'web.yml')
UNIT_WEB = '${CREDENTIALS_DIRECTORY}/web.yml'  # --web-config in the unit
POD_WEB = '/etc/leaktrace/web.yml'             # and in the DaemonSet
AGENT_UID = 65534   # nobody: like DynamicUser=, a uid that owns no process or file
TARGET_UID = 4242   # owner of the second target and of its private directory


def unit_service_settings():
    """[Service] of the unit as {key: [values]}, repeated keys in order."""
    settings, section = {}, None
    with open(UNIT) as f:
        for raw in f:
            line = raw.strip()
            if not line or line.startswith(('#', ';')):
                continue
            if line.startswith('['):
                section = line
                continue
            if section == '[Service]' and '=' in line:
                key, value = line.split('=', 1)
                settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def unit_caps():
    s = unit_service_settings()
    ambient = sorted(' '.join(s.get('AmbientCapabilities', [])).split())
    bounding = sorted(' '.join(s.get('CapabilityBoundingSet', [])).split())
    h.expect(ambient, 'the unit sets no AmbientCapabilities')
    h.expect(ambient == bounding, 'the unit: AmbientCapabilities %s, CapabilityBoundingSet %s'
             % (ambient, bounding))
    return ambient


def daemonset_docs():
    try:
        import yaml
    except ImportError:
        raise h.Skip('python3-yaml is not installed')
    with open(DAEMONSET) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def web_config():
    try:
        import yaml
    except ImportError:
        raise h.Skip('python3-yaml is not installed')
    with open(WEB) as f:
        return yaml.safe_load(f)


def daemonset_container(docs):
    ds = [d for d in docs if d.get('kind') == 'DaemonSet']
    h.expect(len(ds) == 1, '%d DaemonSets in %s' % (len(ds), DAEMONSET))
    spec = ds[0]['spec']['template']['spec']
    h.expect(len(spec['containers']) == 1, 'the DaemonSet has %d containers' % len(spec['containers']))
    return ds[0], spec, spec['containers'][0]


def daemonset_caps(container):
    caps = container['securityContext']['capabilities']
    h.expect(caps.get('drop') == ['ALL'], 'the DaemonSet drops %r, not [ALL]' % caps.get('drop'))
    return sorted('CAP_' + c for c in caps.get('add', []))


def setpriv_names(caps):
    return ','.join('+' + c[len('CAP_'):].lower() for c in caps)


def as_agent(caps):
    """setpriv as the unit runs it: another uid, no new privileges, these
    capabilities ambient (inherited, permitted and effective) and no other."""
    names = setpriv_names(caps)
    sets = '-all' + (',' + names if names else '')
    return [shutil.which('setpriv') or 'setpriv', '--reuid=%d' % AGENT_UID, '--regid=%d' % AGENT_UID,
            '--clear-groups', '--no-new-privs', '--inh-caps=' + sets, '--ambient-caps=' + sets]


def leaktrace_for(ctx, uid):
    """build/leaktrace, or a copy uid can run when the build tree is private."""
    exe = os.path.abspath(ctx.args.leaktrace)
    r = subprocess.run(['setpriv', '--reuid=%d' % uid, '--regid=%d' % uid, '--clear-groups',
                        'test', '-x', exe], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if r.returncode == 0:
        return exe
    d = ctx.tmpdir()
    os.chmod(d, 0o755)
    copy = os.path.join(d, 'leaktrace')
    shutil.copy(exe, copy)
    os.chmod(copy, 0o755)
    return copy


def need_setpriv():
    if not shutil.which('setpriv'):
        raise h.Skip('no setpriv')
    if os.geteuid() != 0:
        raise h.Skip('not root')


def start_lt(ctx, argv):
    p = h.Proc(argv, 'leaktrace')
    ctx.lt_procs.append(p)
    return p


def t_deploy_files_agree(ctx):
    """tools/deploy: the unit and the DaemonSet grant the same capabilities (bounding =
    ambient in the unit, drop ALL in the DaemonSet), serve on the same port, probe and
    annotate it; the DaemonSet uses hostPID and a read-only root; systemd-analyze verify."""
    caps = unit_caps()
    docs = daemonset_docs()
    ds, spec, c = daemonset_container(docs)
    h.expect(daemonset_caps(c) == caps, 'capabilities differ: unit %s, DaemonSet %s'
             % (caps, daemonset_caps(c)))
    s = unit_service_settings()
    h.expect(s.get('DynamicUser') == ['yes'] and s.get('NoNewPrivileges') == ['yes'],
             'the unit runs as root or may gain privileges: %r' % {k: s.get(k) for k in ('DynamicUser', 'User', 'NoNewPrivileges')})
    h.expect('ProtectProc' not in s and 'ProcSubset' not in s, 'the unit hides /proc from leaktrace')
    m = re.match(r'^(\S+) --serve 127\.0\.0\.1:(\d+)( |$)', s['ExecStart'][0])
    h.expect(m, 'ExecStart does not serve on loopback: %r' % s['ExecStart'])
    port = int(m.group(2))
    args = c['args']
    h.expect(args[:2] == ['--serve', '$(POD_IP):%d' % port], 'DaemonSet args %r, want --serve $(POD_IP):%d' % (args, port))
    # The same options, web.yml where each finds it.
    unit_opts = ['WEB' if a == UNIT_WEB else a for a in s['ExecStart'][0].split()[3:]]
    pod_opts = ['WEB' if a == POD_WEB else a for a in args[2:]]
    h.expect(unit_opts == pod_opts and '--web-config' in unit_opts, 'unit and DaemonSet options differ: %r, %r'
             % (s['ExecStart'][0].split()[3:], args[2:]))
    # The three files reach leaktrace side by side, as web.yml names them.
    web = web_config()
    names = sorted([web['tls_server_config']['cert_file'], web['tls_server_config']['key_file'], 'web.yml'])
    creds = sorted(v.split(':', 1)[0] for v in s.get('LoadCredential', []))
    h.expect(creds == names, 'the unit loads credentials %s, web.yml needs %s' % (creds, names))
    h.expect(all(v.split(':', 1)[1] == '/etc/leaktrace/' + v.split(':', 1)[0] for v in s['LoadCredential']),
             'LoadCredential sources %r are not /etc/leaktrace/NAME' % s['LoadCredential'])
    mounts = c.get('volumeMounts', [])
    h.expect(len(mounts) == 1 and mounts[0]['mountPath'] == os.path.dirname(POD_WEB) and mounts[0].get('readOnly'),
             'the DaemonSet mounts %r, want one read-only volume at %s' % (mounts, os.path.dirname(POD_WEB)))
    vols = {v['name']: v for v in spec.get('volumes', [])}
    h.expect(list(vols) == [mounts[0]['name']] and 'projected' in vols[mounts[0]['name']],
             'volumes %r: want the one projected volume' % list(vols))
    paths = sorted(i['path'] for src in vols[mounts[0]['name']]['projected']['sources']
                   for i in src['secret']['items'])
    h.expect(paths == names, 'the DaemonSet projects %s, web.yml needs %s' % (paths, names))
    env = {e['name']: e for e in c.get('env', [])}
    h.expect(env.get('POD_IP', {}).get('valueFrom', {}).get('fieldRef', {}).get('fieldPath') == 'status.podIP',
             'POD_IP does not come from status.podIP')
    ports = {p['name']: p['containerPort'] for p in c['ports']}
    h.expect(ports == {'http-metrics': port}, 'container ports %r, want http-metrics %d' % (ports, port))
    # The kubelet's probes cannot authenticate: they only connect.
    for probe in ('startupProbe', 'readinessProbe', 'livenessProbe'):
        g = c.get(probe, {}).get('tcpSocket', {})
        h.expect(g.get('port') == 'http-metrics', '%s: %r' % (probe, c.get(probe)))
    a = ds['spec']['template']['metadata']['annotations']
    want = {'prometheus.io/scrape': 'true', 'prometheus.io/port': str(port), 'prometheus.io/path': '/metrics',
            'prometheus.io/scheme': 'https',
            'profiles.grafana.com/memory.scrape': 'true', 'profiles.grafana.com/memory.port': str(port),
            'profiles.grafana.com/memory.path': '/debug/pprof/heap', 'profiles.grafana.com/memory.scheme': 'https'}
    h.expect(all(a.get(k) == v for k, v in want.items()), 'annotations %r, want %r' % (a, want))
    sc = c['securityContext']
    h.expect(spec.get('hostPID') is True and not spec.get('hostNetwork'), 'hostPID/hostNetwork: %r/%r'
             % (spec.get('hostPID'), spec.get('hostNetwork')))
    h.expect(sc.get('readOnlyRootFilesystem') is True and sc.get('allowPrivilegeEscalation') is False
             and not sc.get('privileged'), 'securityContext %r' % sc)
    h.expect(spec.get('automountServiceAccountToken') is False, 'the service account token is mounted')
    np = [d for d in docs if d.get('kind') == 'NetworkPolicy']
    h.expect(len(np) == 1 and np[0]['spec']['ingress'][0]['ports'][0]['port'] == 'http-metrics',
             'no NetworkPolicy for the port')
    sa = shutil.which('systemd-analyze')
    if not sa:
        ctx.notes.append('systemd-analyze not found: the unit was not verified')
        return
    d = ctx.tmpdir()
    unit = os.path.join(d, 'leaktrace.service')
    with open(UNIT) as f:
        text = f.read()
    # verify wants ExecStart's program to exist.
    with open(unit, 'w') as f:
        f.write(re.sub(r'(?m)^ExecStart=\S+', 'ExecStart=' + os.path.abspath(ctx.args.leaktrace), text))
    r = subprocess.run([sa, 'verify', unit], capture_output=True, text=True, timeout=60)
    complaints = [line for line in (r.stdout + r.stderr).splitlines() if line.strip()]
    h.expect(r.returncode == 0 and not complaints, 'systemd-analyze verify: exit %d: %s'
             % (r.returncode, ' | '.join(complaints[:4])))
    r = subprocess.run([sa, 'security', '--offline=yes', unit], capture_output=True, text=True, timeout=60)
    score = [line for line in r.stdout.splitlines() if 'Overall exposure level' in line]
    h.log('systemd-analyze security: %s' % (score[-1].strip() if score else r.stderr.strip()[:200]))


def private_leaky(ctx):
    """A copy of leaky owned by TARGET_UID, mode 0700, in its 0700 directory:
    the agent's uid can neither read it by path nor enter /proc/PID/map_files
    (mode 0500, TARGET_UID's) without CAP_DAC_READ_SEARCH."""
    d = ctx.tmpdir()
    home = os.path.join(d, 'home')
    os.mkdir(home, 0o700)
    exe = os.path.join(home, 'leaky')
    shutil.copy(ctx.prog('leaky'), exe)
    os.chmod(exe, 0o700)
    os.chown(exe, TARGET_UID, TARGET_UID)
    os.chown(home, TARGET_UID, TARGET_UID)
    os.chmod(d, 0o755)
    return exe


def t_deploy_caps_exact(ctx):
    """leaktrace as uid 65534 with exactly the deploy files' capabilities (no new privileges)
    -p on a root "leaky wait" and on one of uid 4242 running from its private directory:
    every leak exact, with names, lines and callers."""
    need_setpriv()
    caps = unit_caps()
    exe = leaktrace_for(ctx, AGENT_UID)
    root_t = h.start_waiting_leaky(ctx, churn=20000, name='leaky (root)')
    private = private_leaky(ctx)
    other_t = ctx.target(['setpriv', '--reuid=%d' % TARGET_UID, '--regid=%d' % TARGET_UID, '--clear-groups',
                          private, 'wait', '20000'], 'leaky (uid %d)' % TARGET_UID)
    h.expect(other_t.expect_line('ready', 15), 'leaky of uid %d did not start%s' % (TARGET_UID, h.tail(other_t)))
    p = start_lt(ctx, as_agent(caps) + [exe, '-T', '0', '--format', 'json', '-p', str(root_t.pid),
                                         '-p', str(other_t.pid)])
    h.expect(p.expect_err_line('leaktrace: tracing', 60), 'leaktrace did not start' + h.tail(p))
    h.wait_probes(p.pid, min_wait=0.2, max_wait=10)
    h.trigger(root_t)
    h.trigger(other_t)
    time.sleep(1.5)
    rc = h.interrupt(p, signal.SIGINT)
    h.expect(rc == 0, 'exit status %s after SIGINT%s' % (rc, h.tail(p)))
    rep = h.final_report(p)
    h.check_leaky(h.find_proc(rep, pid=root_t.pid), exited=False, min_age=1.0)
    proc = h.find_proc(rep, pid=other_t.pid)
    h.expect(proc['exe'] == private, 'exe of uid %d\'s leaky is %r' % (TARGET_UID, proc['exe']))
    h.check_leaky(proc, exited=False, min_age=1.0)
    h.check_stats(rep, min_allocs=2 * (20000 + h.LEAKY_TOTAL_ALLOCS), min_frees=2 * 20000)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def http_get(url, timeout=5):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, b''
    except OSError:
        return None, b''


def credentials(ctx):
    """What systemd would put in $CREDENTIALS_DIRECTORY: tools/deploy/web.yml
    with a password of ours, a certificate for 127.0.0.1 and its key, all
    readable by the agent's uid only. Returns (folder, CA file)."""
    import scenarios_serve_secure as secure
    pki = secure.make_pki(ctx.tmpdir())
    d = ctx.tmpdir()
    os.chmod(d, 0o755)
    with open(WEB) as f:
        text = f.read()
    text, n = re.subn(r"(?m)^(  prometheus: )'\$2b\$[^']*'$", lambda m: "%s'%s'" % (m.group(1), secure.bcrypt(secure.PASSWORD)), text)
    h.expect(n == 1, '%s: no prometheus user to set the password of' % WEB)
    files = {'web.yml': text.encode()}
    for name, src in (('tls.crt', 'server.crt'), ('tls.key', 'server.key')):
        with open(os.path.join(pki, src), 'rb') as f:
            files[name] = f.read()
    for name, data in files.items():
        path = os.path.join(d, name)
        with open(path, 'wb') as f:
            f.write(data)
        os.chown(path, AGENT_UID, AGENT_UID)
        os.chmod(path, 0o400)
    return d, os.path.join(pki, 'ca.crt')


def https_get(url, ca, auth):
    import base64
    import ssl
    req = urllib.request.Request(url, headers={
        'Authorization': 'Basic ' + base64.b64encode(('%s:%s' % auth).encode()).decode()})
    try:
        with urllib.request.urlopen(req, timeout=10, context=ssl.create_default_context(cafile=ca)) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, b''
    except OSError:
        return None, b''


def t_deploy_unit_command(ctx):
    """the unit's own ExecStart (another port) as uid 65534 with exactly its capabilities and
    tools/deploy/web.yml: whole host traced, /metrics 200 over TLS to the user once tracing and
    401 with a wrong password, /debug/pprof/heap gzipped, SIGTERM exits 0."""
    import scenarios_serve_secure as secure
    need_setpriv()
    caps = unit_caps()
    creds, ca = credentials(ctx)
    argv = unit_service_settings()['ExecStart'][0].split()
    port = free_port()
    argv = [leaktrace_for(ctx, AGENT_UID)] + [
        re.sub(r':\d+$', ':%d' % port, a) if a.startswith('127.0.0.1:') else
        a.replace('${CREDENTIALS_DIRECTORY}', creds) for a in argv[1:]]
    p = start_lt(ctx, as_agent(caps) + argv)
    h.expect(p.expect_err_line('leaktrace: tracing all processes', 90), 'leaktrace did not start' + h.tail(p))
    base = 'https://127.0.0.1:%d' % port
    auth = ('prometheus', secure.PASSWORD)
    deadline = time.monotonic() + 20
    status = None
    while time.monotonic() < deadline and status != 200:
        status, body = https_get(base + '/metrics', ca, auth)
        time.sleep(0.2)
    h.expect(status == 200 and b'\nleaktrace_' in b'\n' + body, '/metrics: status %s' % status)
    status, _ = https_get(base + '/metrics', ca, ('prometheus', 'wrong'))
    h.expect(status == 401, '/metrics with a wrong password: status %s' % status)
    status, body = https_get(base + '/debug/pprof/heap', ca, auth)
    h.expect(status == 200, '/debug/pprof/heap: status %s' % status)
    try:
        gzip.decompress(body)
    except OSError as e:
        raise h.Fail('/debug/pprof/heap is not gzip: %s' % e)
    rc = h.interrupt(p, signal.SIGTERM)
    h.expect(rc == 0, 'exit status %s after SIGTERM%s' % (rc, h.tail(p)))


MISSING = re.compile(r'^leaktrace: needs root, or CAP_SYS_ADMIN, CAP_SYS_PTRACE and '
                     r'CAP_DAC_READ_SEARCH \(missing: ([A-Z_, ]+)\)$')


def t_deploy_cap_missing(ctx):
    """each of the deploy files' capabilities taken away in turn (then all): exit status 1
    before tracing, and one line on stderr naming exactly what is missing."""
    need_setpriv()
    caps = unit_caps()
    exe = leaktrace_for(ctx, AGENT_UID)
    t = h.start_waiting_leaky(ctx, churn=1000)
    for gone in [[c] for c in caps] + [caps]:
        kept = [c for c in caps if c not in gone]
        p = h.error_run(ctx, ['-p', str(t.pid)], prefix=as_agent(kept), exe=exe)
        h.expect(p.popen.returncode == 1, 'without %s: exit status %d, want 1' % (gone, p.popen.returncode))
        m = MISSING.match(p.err_lines[0].strip())
        h.expect(m, 'without %s: stderr %r' % (gone, p.err_lines[0]))
        h.expect(sorted(m.group(1).split(', ')) == sorted(gone), 'without %s, it names %s' % (gone, m.group(1)))


SCENARIOS = [
    ('deploy_files_agree', t_deploy_files_agree),
    ('deploy_caps_exact', t_deploy_caps_exact),
    ('deploy_unit_command', t_deploy_unit_command),
    ('deploy_cap_missing', t_deploy_cap_missing),
]
