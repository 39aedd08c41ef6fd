# SPDX-License-Identifier: MIT
"""tools/deploy/grafana-dashboard.json against the real thing.

grafana_dashboard: the dashboard is well formed (unique panel ids, panels
inside the 24-column grid and not overlapping, every query on the
datasource variable), every metric its queries name is one a real agent
exports, and every query runs on a real Prometheus scraping that agent:
leaktrace --serve --mmap on a C leaky and a Python process that keeps
objects and open files. The panels that must show something (processes,
heap by process and container, Python objects, open descriptors, events,
the endpoint, the report's age) return series; none errs.
"""

import json
import os
import re
import time
import urllib.parse

import __main__ as h
import scenarios_serve as serve

REPO = os.path.normpath(os.path.join(h.HERE, '..', '..'))
DASHBOARD = os.path.join(REPO, 'tools', 'deploy', 'grafana-dashboard.json')
PYTHON = '/usr/bin/python3.11'

# Keeps 2,000 objects and 5 open files once told "go" on stdin.
PY_KEEPER = r'''
import sys, tempfile
print("ready", flush=True)
sys.stdin.readline()
kept = [("item-%d" % i) * 3 for i in range(2000)]
files = [tempfile.TemporaryFile() for _ in range(5)]
print("leaked", flush=True)
sys.stdin.readline()
'''

# Panels whose queries must return series with this agent and these targets.
MUST_SHOW = {'Processes traced', 'Outstanding heap by process', 'Outstanding heap by container',
             'Python objects by process', 'Descriptors left open', 'Events taken in',
             'Endpoint: refused and closed', 'Oldest report', 'Leaking processes'}


def panels(dash):
    out = []
    for p in dash['panels']:
        out.append(p)
        out.extend(p.get('panels', []))
    return out


def check_layout(dash):
    ps = panels(dash)
    ids = [p['id'] for p in ps]
    h.expect(len(ids) == len(set(ids)), 'panel ids repeat: %s' % ids)
    cells = {}
    for p in ps:
        g = p['gridPos']
        h.expect(g['x'] >= 0 and g['w'] > 0 and g['x'] + g['w'] <= 24, '%r: outside the grid %s' % (p['title'], g))
        for x in range(g['x'], g['x'] + g['w']):
            for y in range(g['y'], g['y'] + g['h']):
                h.expect((x, y) not in cells, '%r overlaps %r' % (p['title'], cells.get((x, y))))
                cells[(x, y)] = p['title']
        if p['type'] == 'row':
            continue
        h.expect(p['datasource'] == {'type': 'prometheus', 'uid': '${datasource}'},
                 '%r: datasource %r' % (p['title'], p['datasource']))
        h.expect(p['targets'] and all(t.get('expr') for t in p['targets']), '%r: no query' % p['title'])
    names = [v['name'] for v in dash['templating']['list']]
    h.expect(names == ['datasource', 'instance'], 'variables %s' % names)


def exported_families(text):
    return set(re.findall(r'(?m)^# TYPE (\S+) ', text))


def run_query(prom, expr):
    q = expr.replace('$__rate_interval', '1m').replace('$instance', '.*')
    status, _, body = serve.http(prom.api + '/api/v1/query?' + urllib.parse.urlencode({'query': q}))
    res = json.loads(body)
    h.expect(status == 200 and res.get('status') == 'success', 'query %s: %s %s' % (q, status, res.get('error')))
    return res['data']['result']


def t_grafana_dashboard(ctx):
    """tools/deploy/grafana-dashboard.json: well formed, names only exported metrics, every query runs on a real Prometheus scraping a real agent."""
    with open(DASHBOARD) as f:
        dash = json.load(f)
    check_layout(dash)
    if not os.access(PYTHON, os.X_OK):
        raise h.Skip('%s is not installed' % PYTHON)
    port = serve.free_port()
    prom = serve.start_prometheus(ctx, port)
    try:
        t = h.start_waiting_leaky(ctx)
        py = ctx.target([PYTHON, '-c', PY_KEEPER], 'py_keeper')
        h.expect(py.expect_line('ready', 30), 'the Python keeper did not start%s' % h.tail(py))
        p = h.attach_pid(ctx, ['-T', '0', '--mmap', '-p', str(t.pid), '-p', str(py.pid),
                               '--serve', '127.0.0.1:%d' % port, '1'])
        serve.wait_serving(p, port)
        h.trigger(t)
        h.expect(py.send('go\n') and py.expect_line('leaked', 30), 'the Python keeper did not keep%s' % h.tail(py))
        deadline = time.monotonic() + 30
        while True:
            text = serve.http('http://127.0.0.1:%d/metrics' % port)[2].decode()
            if 'leaktrace_process_python_objects{pid="%d"' % py.pid in text and 'leaktrace_open_fds{' in text:
                break
            h.expect(time.monotonic() < deadline, 'no Python objects and open descriptors in /metrics within 30 s')
            time.sleep(0.5)
        exported = exported_families(text)
        serve.wait_prom_value(prom, 'count(leaktrace_process_outstanding_bytes{pid="%d"})' % py.pid, 1)
        time.sleep(3)  # a few more scrapes, for the rates

        variable = dash['templating']['list'][1]['query']['query']
        m = re.match(r'label_values\((\w+), (\w+)\)$', variable)
        h.expect(m and m.group(1) in exported, 'the instance variable: %r' % variable)
        values = json.loads(serve.http(prom.api + '/api/v1/label/%s/values?%s' % (
            m.group(2), urllib.parse.urlencode({'match[]': m.group(1)})))[2])['data']
        h.expect(values == ['127.0.0.1:%d' % port], 'the instance variable lists %s' % values)

        empty = []
        for panel in panels(dash):
            for target in panel.get('targets', []):
                named = set(re.findall(r'\bleaktrace_[a-z_]+', target['expr']))
                h.expect(named <= exported, '%r names %s, not exported' % (panel['title'], sorted(named - exported)))
                if not run_query(prom, target['expr']) and panel['title'] in MUST_SHOW:
                    empty.append('%s: %s' % (panel['title'], target['expr']))
        h.expect(not empty, 'panels with no series: %s' % empty)
        rc = h.interrupt(p)
        h.expect(rc == 0, 'exit status %s after SIGINT%s' % (rc, h.tail(p)))
    finally:
        serve.stop_prometheus(prom)


SCENARIOS = [
    ('grafana_dashboard', t_grafana_dashboard),
]
