# SPDX-License-Identifier: MIT
"""--serve: leaktrace as an agent, scraped by a real Prometheus and pulled as
a pprof profile.

serve_prometheus attaches to a waiting leaky with `--serve 127.0.0.1:PORT 1`,
starts Debian's Prometheus on loopback with a 1 s scrape of that endpoint,
makes leaky leak and asks Prometheus's query API for the leaking process's
series (and / for the HTML page over the reports kept, drawn by Chromium): its outstanding bytes and blocks must be exactly what leaky leaked
(LEAKY_TOTAL_BYTES in LEAKY_TOTAL_ALLOCS; blocks leaky allocated before the
attach are not seen) and what the final JSON report says. The profile at
/debug/pprof/heap goes through `go tool pprof -top`: each leak_via_*
function with its exact bytes.

serve_hygiene checks what the endpoint refuses (unknown paths, other
methods, request bodies, oversized headers), that it is bound to loopback
only, the default 10 s report cycle without INTERVAL (published, not
printed), a taken port, and that SIGINT still gives a final report and
closes the port.

Prometheus runs in its own session with its data in a temporary directory;
it is stopped (SIGTERM, then SIGKILL) at the end of the scenario.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

import __main__ as h

PROMETHEUS = '/usr/bin/prometheus'
METRICS_TYPE = 'text/plain; version=0.0.4; charset=utf-8'


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def http(url, method='GET', data=None, headers=None, timeout=10):
    """(status, headers, body) of one request; error statuses included."""
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def raw_status(port, request, host='127.0.0.1'):
    """The status of the answer to raw request bytes, or None when the
    connection closed without one."""
    with socket.create_connection((host, port), timeout=10) as s:
        try:
            s.sendall(request)
        except OSError:
            pass  # closed while sending: the answer may be there already
        data = b''
        try:
            while b'\r\n' not in data:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        except ConnectionResetError:
            pass
    m = re.match(rb'HTTP/1\.[01] (\d{3}) ', data)
    return int(m.group(1)) if m else None


def port_closed(host, port):
    try:
        with socket.create_connection((host, port), timeout=3):
            return False
    except ConnectionRefusedError:
        return True


def wait_serving(p, port, timeout=60):
    """After attach_pid: the endpoint answers and leaktrace said where."""
    want = 'leaktrace: serving http://127.0.0.1:%d/metrics and /debug/pprof/heap' % port
    h.expect(any(line.strip() == want for line in p.err_lines),
             'no "%s" on stderr%s' % (want, h.tail(p)))
    status, hdrs, body = http('http://127.0.0.1:%d/metrics' % port)
    h.expect(status == 200, '/metrics right after start: status %d' % status)
    h.expect(hdrs['Content-Type'] == METRICS_TYPE, '/metrics Content-Type %r' % hdrs['Content-Type'])
    return body.decode()


def metric_value(text, name, **labels):
    """The value of the one series of name with these labels in metrics text."""
    want = ','.join('%s="%s"' % kv for kv in labels.items())
    found = [line for line in text.splitlines()
             if (line.startswith(name + '{') and want in line) or (not want and line.startswith(name + ' '))]
    h.expect(len(found) == 1, '%d series %s{%s} in /metrics' % (len(found), name, want))
    return float(found[0].rsplit(' ', 1)[1])


# ---------------------------------------------------------------------------
# Prometheus
# ---------------------------------------------------------------------------

def start_prometheus(ctx, target_port, scrape_configs=None):
    """Prometheus scraping 127.0.0.1:target_port every second as job
    leaktrace, or with scrape_configs (the YAML list's text) instead."""
    if not os.access(PROMETHEUS, os.X_OK):
        raise h.Skip('%s is not installed (Debian package prometheus)' % PROMETHEUS)
    d = ctx.tmpdir()
    port = free_port()
    cfg = os.path.join(d, 'prometheus.yml')
    if scrape_configs is None:
        scrape_configs = ('  - job_name: leaktrace\n'
                          '    static_configs:\n'
                          "      - targets: ['127.0.0.1:%d']\n" % target_port)
    with open(cfg, 'w') as f:
        f.write('global:\n'
                '  scrape_interval: 1s\n'
                '  scrape_timeout: 1s\n'
                'scrape_configs:\n' + scrape_configs)
    prom = ctx.target([PROMETHEUS, '--config.file=' + cfg, '--storage.tsdb.path=' + os.path.join(d, 'data'),
                       '--web.listen-address=127.0.0.1:%d' % port], 'prometheus')
    prom.api = 'http://127.0.0.1:%d' % port
    deadline = time.monotonic() + 60
    while True:
        try:
            if http(prom.api + '/-/ready', timeout=2)[0] == 200:
                return prom
        except OSError:
            pass
        h.expect(prom.poll() is None, 'prometheus exited with %s: %s' % (
            prom.poll(), ' | '.join(prom.err_lines[-3:])))
        h.expect(time.monotonic() < deadline, 'prometheus not ready within 60 s')
        time.sleep(0.2)


def stop_prometheus(prom):
    prom.signal(signal.SIGTERM)
    if prom.wait(20) is None:
        prom.kill_session()
        prom.wait(10)


def prom_query(prom, query):
    status, _, body = http(prom.api + '/api/v1/query?' + urllib.parse.urlencode({'query': query}))
    h.expect(status == 200, 'prometheus query %s: status %d %s' % (query, status, body[:200]))
    res = json.loads(body)
    h.expect(res['status'] == 'success', 'prometheus query %s: %s' % (query, res))
    return res['data']['result']


def wait_prom_value(prom, query, want, timeout=30):
    """Wait until query has one series of value want; return that series."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = prom_query(prom, query)
        if len(last) == 1 and float(last[0]['value'][1]) == want:
            return last[0]
        time.sleep(0.5)
    raise h.Fail('prometheus: %s is %s after %ds, want %s' % (
        query, [(r['metric'], r['value'][1]) for r in last or []], timeout, want))


# ---------------------------------------------------------------------------
# pprof
# ---------------------------------------------------------------------------

def pprof_flat_bytes(ctx, data):
    """{function: flat bytes} from `go tool pprof -top` of a gzipped profile."""
    go = shutil.which('go')
    if not go:
        raise h.Skip('go is not installed (Debian package golang-go)')
    d = ctx.tmpdir()
    path = os.path.join(d, 'heap.pb.gz')
    with open(path, 'wb') as f:
        f.write(data)
    env = dict(os.environ, HOME=d, GOCACHE=os.path.join(d, 'gocache'), PPROF_TMPDIR=d)
    r = subprocess.run([go, 'tool', 'pprof', '-symbolize=none', '-top', '-unit=B',
                        '-sample_index=inuse_space', path],
                       capture_output=True, text=True, timeout=120, env=env, cwd=d)
    h.expect(r.returncode == 0, 'go tool pprof -top: status %d: %s' % (r.returncode, r.stderr.strip()[-300:]))
    flat = {}
    for line in r.stdout.splitlines():
        # A zero is printed without its unit.
        m = re.match(r'^\s*(\d+)B?\s+\S+%\s+\S+%\s+(\d+)B?\s+\S+%\s+(\S+)\s*$', line)
        if m:
            flat[m.group(3)] = int(m.group(1))
    return flat, r.stdout


# ---------------------------------------------------------------------------
# The page at /
# ---------------------------------------------------------------------------

def check_page(ctx, port, pid):
    """/ is the HTML page over the reports the agent keeps: the newest holds
    pid's leak, and Chromium draws it with its chart."""
    import scenarios_html as page
    status, hdrs, body = http('http://127.0.0.1:%d/' % port)
    h.expect(status == 200 and hdrs['Content-Type'] == 'text/html; charset=utf-8',
             '/: status %d, %r' % (status, hdrs['Content-Type']))
    text = body.decode()
    page.check_self_contained(text)
    data = page.page_data(text)
    h.expect(data.get('schema') == 'leaktrace/html/v2' and len(data['reports']) >= 2,
             '/: %s with %d reports' % (data.get('schema'), len(data.get('reports', []))))
    last = data['reports'][-1]
    held = [q['heap']['bytes'] for q in last['processes'] if q['pid'] == pid]
    h.expect(held == [h.LEAKY_TOTAL_BYTES], '/: the newest report holds %s bytes of pid %d, want %d' % (
        held, pid, h.LEAKY_TOTAL_BYTES))
    path = os.path.join(ctx.tmpdir(), 'agent.html')
    with open(path, 'w') as f:
        f.write(text)
    dom = page.load_dom(ctx, path)
    h.expect(dom.body.get('data-lt-reports') == str(len(data['reports'])) and 'heap' in dom.graphs,
             '/ in Chromium: %s reports, graphs %s' % (dom.body.get('data-lt-reports'), list(dom.graphs)))


# ---------------------------------------------------------------------------
# Scenarios
# ---------------------------------------------------------------------------

def t_serve_prometheus(ctx):
    """--serve 127.0.0.1:PORT 1: Prometheus scrapes the leak's exact bytes; /debug/pprof/heap for go tool pprof."""
    port = free_port()
    prom = start_prometheus(ctx, port)
    try:
        t = h.start_waiting_leaky(ctx)
        p = h.attach_pid(ctx, ['-T', '0', '--format', 'json', '-p', str(t.pid),
                               '--serve', '127.0.0.1:%d' % port, '1'])
        wait_serving(p, port)
        h.trigger(t)
        time.sleep(1.5)  # past the 500 ms age filter, and a report
        sel = 'pid="%d",job="leaktrace"' % t.pid
        bytes_series = wait_prom_value(prom, 'leaktrace_process_outstanding_bytes{%s}' % sel,
                                       h.LEAKY_TOTAL_BYTES)
        wait_prom_value(prom, 'leaktrace_process_outstanding_allocations{%s}' % sel,
                        h.LEAKY_TOTAL_ALLOCS)
        wait_prom_value(prom, 'up{job="leaktrace"}', 1)
        labels = bytes_series['metric']
        h.expect(labels.get('comm') == 'leaky', 'comm label %r' % labels.get('comm'))
        h.expect(labels.get('instance') == '127.0.0.1:%d' % port, 'instance label %r' % labels.get('instance'))
        targets = json.loads(http(prom.api + '/api/v1/targets')[2])['data']['activeTargets']
        h.expect(len(targets) == 1 and targets[0]['health'] == 'up' and not targets[0]['lastError'],
                 'prometheus target: %s' % [(x['health'], x['lastError']) for x in targets])

        status, hdrs, profile = http('http://127.0.0.1:%d/debug/pprof/heap' % port)
        h.expect(status == 200, '/debug/pprof/heap: status %d' % status)
        h.expect(hdrs['Content-Type'] == 'application/octet-stream',
                 '/debug/pprof/heap Content-Type %r' % hdrs['Content-Type'])
        h.expect(profile[:2] == b'\x1f\x8b', '/debug/pprof/heap is not gzip')
        flat, top = pprof_flat_bytes(ctx, profile)
        for fn, (count, size) in h.LEAKY_LEAKS.items():
            h.expect(flat.get(fn) == count * size, '%s: %s B flat in pprof -top, want %d: %s' % (
                fn, flat.get(fn), count * size, top[-400:]))

        check_page(ctx, port, t.pid)

        rc = h.interrupt(p, signal.SIGINT)
        h.expect(rc == 0, 'exit status %s after SIGINT%s' % (rc, h.tail(p)))
        reports = h.parse_reports(p, strict=True)
        rep = h.final_report(p, reports=reports)
        # INTERVAL given: the periodic reports are printed as well as served.
        h.expect(len(reports) >= 3, 'only %d reports printed with INTERVAL 1' % len(reports))
        proc = h.find_proc(rep, pid=t.pid)
        h.check_leaky(proc, exited=False, min_age=1.0)
        h.expect(labels.get('container') == proc['container'],
                 'container label %r, report says %r' % (labels.get('container'), proc['container']))
        h.expect(port_closed('127.0.0.1', port), 'port %d still open after leaktrace exited' % port)
    finally:
        stop_prometheus(prom)
    h.expect(prom.popen.returncode == 0, 'prometheus exit status %s' % prom.popen.returncode)


def non_loopback_addresses():
    """This machine's global IPv4 and IPv6 addresses."""
    out = []
    for fam in ('-4', '-6'):
        try:
            r = subprocess.run(['ip', '-j', fam, 'addr', 'show', 'scope', 'global'],
                               capture_output=True, text=True, timeout=10)
            for iface in json.loads(r.stdout or '[]'):
                out += [a['local'] for a in iface.get('addr_info', []) if 'local' in a]
        except (OSError, ValueError):
            pass
    return out


def t_serve_hygiene(ctx):
    """--serve without INTERVAL: refusals, loopback only, 10 s cycle not printed, taken port, clean exit."""
    port = free_port()
    t = h.start_waiting_leaky(ctx)
    p = h.attach_pid(ctx, ['-T', '0', '-p', str(t.pid), '--serve', '127.0.0.1:%d' % port])
    first = wait_serving(p, port)
    # Before the first report: the session's counters, no process.
    h.expect(metric_value(first, 'leaktrace_processes') == 0, 'processes before the first report')
    h.trigger(t)
    base = 'http://127.0.0.1:%d' % port

    status, _, _ = http(base + '/nope')
    h.expect(status == 404, 'GET /nope: status %d' % status)
    status, _, _ = http(base + '/debug/pprof/profile')
    h.expect(status == 404, 'GET /debug/pprof/profile: status %d' % status)
    status, hdrs, _ = http(base + '/metrics', method='POST', data=b'x=1')
    h.expect(status == 405 and hdrs['Allow'] == 'GET, HEAD', 'POST /metrics: status %d, Allow %r' % (
        status, hdrs['Allow']))
    status, _, _ = http(base + '/metrics', method='PUT', data=b'x')
    h.expect(status == 405, 'PUT /metrics: status %d' % status)
    status = raw_status(port, b'GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbody')
    h.expect(status == 413, 'GET with a body: status %s' % status)
    # Over leaktrace's 16 KiB, under libmicrohttpd's default of 32 KiB.
    status = raw_status(port, b'GET /metrics HTTP/1.1\r\nHost: x\r\nX-Pad: ' + b'a' * 24576 + b'\r\n\r\n')
    h.expect(status == 431, 'GET with a 24 KiB header: status %s' % status)
    status, hdrs, body = http(base + '/metrics', method='HEAD')
    h.expect(status == 200 and body == b'' and int(hdrs['Content-Length']) > 0,
             'HEAD /metrics: status %d, %d body bytes' % (status, len(body)))
    others = non_loopback_addresses()
    if not others:
        ctx.notes.append('no non-loopback address: reachability not checked')
    for addr in others:
        h.expect(port_closed(addr, port), 'bound to 127.0.0.1, yet port %d answers on %s' % (port, addr))

    # A second agent on the same port: one line, exit status 1.
    e = h.error_run(ctx, ['--serve', '127.0.0.1:%d' % port, '-c', '/bin/true'], timeout=60)
    h.expect(e.popen.returncode == 1, 'port taken: exit status %s' % e.popen.returncode)
    h.expect('Address already in use' in e.err_lines[0], 'port taken: %r' % e.err_lines[0])

    # No INTERVAL: a report every 10 s, served but not printed.
    deadline = time.monotonic() + 30
    series = 'leaktrace_process_outstanding_bytes{pid="%d",' % t.pid
    while True:
        text = http(base + '/metrics')[2].decode()
        if series in text and metric_value(text, series[:-1].split('{')[0], pid=t.pid) == h.LEAKY_TOTAL_BYTES:
            break
        h.expect(time.monotonic() < deadline, 'pid %d: not %d outstanding bytes in /metrics within 30 s' % (
            t.pid, h.LEAKY_TOTAL_BYTES))
        time.sleep(0.25)
    uptime = metric_value(text, 'leaktrace_uptime_seconds')
    h.expect(uptime >= 10.0 and uptime % 10.0 < 1.0, 'report made at %.3f s, want the 10 s cycle' % uptime)
    h.expect(not [line for line in p.out_lines if line.strip()],
             'periodic report printed without INTERVAL: %r' % p.out_lines[:2])

    rc = h.interrupt(p, signal.SIGINT)
    h.expect(rc == 0, 'exit status %s after SIGINT%s' % (rc, h.tail(p)))
    out = p.stdout_text()
    h.expect(out.count('final report') == 1 and 'leak_via_malloc' in out,
             'no final text report after SIGINT: %r' % out[:200])
    h.expect(port_closed('127.0.0.1', port), 'port %d still open after leaktrace exited' % port)


SCENARIOS = [
    ('serve_prometheus', t_serve_prometheus),
    ('serve_hygiene', t_serve_hygiene),
]
