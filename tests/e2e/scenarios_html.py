# SPDX-License-Identifier: MIT
"""--format html: the page leaktrace writes, opened in Debian's headless Chromium.

Each scenario runs leaktrace on a test program with `--format html -w FILE`,
then loads FILE in `chromium --headless --dump-dom` and reads the drawn SVG
back from the DOM: every frame is a <g class="fr"> carrying data-name,
data-bytes, data-allocs, data-depth and data-kind, with a <rect> whose width
is its share of the graph's width. The numbers are compared with the exact
ones run_e2e.py knows (LEAKY_LEAKS, MMAP_REGIONS, ...).

Chromium runs with its own profile in a temporary directory, in its own
session (killed whole afterwards; a scenario fails if any of its processes
survives), and with a proxy on 127.0.0.1 that records what it is asked for:
Chromium's own background requests go to Google hosts, anything else means
the page itself tried to load something.
"""

import glob
import html.parser
import json
import os
import re
import signal
import socket
import struct
import subprocess
import threading
import time
import zlib

import __main__ as h

CHROMIUM = '/usr/bin/chromium'
# Hosts Chromium itself contacts in the background (time, component updates,
# accounts); a page's CDN or font host is not among them.
CHROMIUM_OWN = re.compile(r'^(?!fonts\.|ajax\.|www\.gstatic)[\w.-]*\.(google\.com|googleapis\.com|gvt1\.com|gstatic\.com)(:\d+)?$')


# ---------------------------------------------------------------------------
# Chromium
# ---------------------------------------------------------------------------

class RequestRecorder:
    """A proxy that answers nothing and remembers each request line, on
    127.0.0.1 only; it stops with the scenario."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(32)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.requests = []
        self.done = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        deadline = time.monotonic() + 300
        while not self.done and time.monotonic() < deadline:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                conn.settimeout(2)
                head = conn.recv(4096).decode('latin-1')
                self.requests.append(head.split('\r\n', 1)[0])
            except OSError:
                self.requests.append('(no request line)')
            finally:
                conn.close()

    def close(self):
        self.done = True
        self.thread.join(2)
        self.sock.close()

    def page_requests(self):
        """Request lines whose host is not one of Chromium's own."""
        out = []
        for line in self.requests:
            parts = line.split()
            target = parts[1] if len(parts) > 1 else ''
            host = re.sub(r'^[a-z]+://', '', target).split('/', 1)[0]
            if not CHROMIUM_OWN.match(host):
                out.append(line)
        return out


def chromium_pids(profile):
    out = []
    for pid in h.all_pids():
        try:
            with open('/proc/%d/cmdline' % pid, 'rb') as f:
                if profile.encode() in f.read():
                    out.append(pid)
        except OSError:
            pass
    return out


def run_chromium(ctx, url, extra, timeout=60):
    """Runs headless Chromium on url; returns its stdout (text). Fails the
    scenario when it does not finish or leaves a process behind."""
    if not os.access(CHROMIUM, os.X_OK):
        raise h.Skip('%s is not installed (Debian package chromium)' % CHROMIUM)
    d = ctx.tmpdir()
    profile = os.path.join(d, 'profile')
    rec = RequestRecorder()
    argv = [CHROMIUM, '--headless', '--no-sandbox', '--disable-gpu', '--user-data-dir=' + profile,
            '--no-first-run', '--disable-background-networking', '--disable-component-update',
            '--disable-sync', '--disable-extensions', '--disable-default-apps', '--no-pings',
            '--proxy-server=127.0.0.1:%d' % rec.port, '--proxy-bypass-list=<-loopback>',
            '--window-size=1280,1000', '--virtual-time-budget=3000'] + list(extra) + [url]
    env = dict(os.environ, HOME=d, XDG_CONFIG_HOME=d, XDG_CACHE_HOME=d)
    h.log('chromium %s' % ' '.join(extra + [url]))
    popen = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                             start_new_session=True)
    try:
        out, err = popen.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        out, err = b'', b'(timed out)'
    finally:
        try:
            os.killpg(popen.pid, signal.SIGKILL)
        except OSError:
            pass
        popen.wait()
        rec.close()
    left = chromium_pids(profile)
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    h.expect(not left, 'chromium processes survived: %s' % left)
    h.expect(popen.returncode == 0 and err != b'(timed out)',
             'chromium %s: status %s: %s' % (url, popen.returncode, err.decode(errors='replace')[-300:]))
    asked = rec.page_requests()
    h.expect(not asked, 'the page made network requests: %s' % asked[:3])
    return out.decode('utf-8', 'replace')


# ---------------------------------------------------------------------------
# The dumped DOM
# ---------------------------------------------------------------------------

class Dom(html.parser.HTMLParser):
    """What a test needs from the dumped DOM: <body>'s attributes, each
    flame svg and its frames (g.fr with their rect and text), elements by id."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.body = {}
        self.graphs = {}      # data-graph -> {'attrs': {...}, 'frames': [...]}
        self.ids = {}         # id -> {'attrs', 'text'}
        self._graph = None
        self._frame = None
        self._in_text = False
        self._id_stack = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == 'body':
            self.body = a
        if 'id' in a:
            self.ids[a['id']] = {'attrs': a, 'text': ''}
            self._id_stack.append((tag, a['id'], 0))
        elif self._id_stack and self._id_stack[-1][0] == tag:
            t, i, depth = self._id_stack[-1]
            self._id_stack[-1] = (t, i, depth + 1)
        if tag == 'svg' and 'data-graph' in a:
            self._graph = self.graphs.setdefault(a['data-graph'], {'attrs': a, 'frames': []})
        elif tag == 'g' and self._graph is not None and 'fr' in a.get('class', '').split():
            self._frame = {'attrs': a, 'rect': None, 'text': ''}
            self._graph['frames'].append(self._frame)
        elif tag == 'rect' and self._frame is not None:
            self._frame['rect'] = {k: float(v) for k, v in a.items() if k in ('x', 'y', 'width', 'height')}
        elif tag == 'text' and self._frame is not None:
            self._in_text = True

    def handle_endtag(self, tag):
        if tag == 'svg':
            self._graph = None
        elif tag == 'g':
            self._frame = None
        elif tag == 'text':
            self._in_text = False
        if self._id_stack and self._id_stack[-1][0] == tag:
            t, i, depth = self._id_stack[-1]
            if depth:
                self._id_stack[-1] = (t, i, depth - 1)
            else:
                self._id_stack.pop()

    def handle_data(self, data):
        if self._in_text and self._frame is not None:
            self._frame['text'] += data
        for _, i, _ in self._id_stack:
            self.ids[i]['text'] += data

    def text(self, id_):
        return self.ids.get(id_, {}).get('text', '')


def frames_named(graph, name):
    return [f for f in graph['frames'] if f['attrs'].get('data-name') == name]


def one_frame(graph, name):
    hits = frames_named(graph, name)
    h.expect(len(hits) == 1, '%d frames named %r drawn, want 1 (names: %s)' % (
        len(hits), name, sorted({f['attrs'].get('data-name') for f in graph['frames']})[:20]))
    return hits[0]


def load_dom(ctx, path, extra=()):
    dom = Dom(run_chromium(ctx, 'file://' + path, ['--dump-dom'] + list(extra)))
    h.expect(dom.body.get('data-lt-state') == 'ready', 'page state %r, not ready: %s' % (
        dom.body.get('data-lt-state'), dom.text('lt-error')[:300]))
    return dom


def check_width(graph, frame, total):
    """The frame's rect is its share of the graph: width / svg width == bytes / total."""
    width = float(graph['attrs']['width'])
    nbytes = int(frame['attrs']['data-bytes'])
    w = frame['rect']['width']
    h.expect(w > 0, '%s: drawn %.3f px wide' % (frame['attrs']['data-name'], w))
    h.expect(abs(w - width * nbytes / total) <= 0.01,
             '%s: %.3f px wide of %.0f, want %d/%d of it (%.3f)' % (
                 frame['attrs']['data-name'], w, width, nbytes, total, width * nbytes / total))


# ---------------------------------------------------------------------------
# The file itself
# ---------------------------------------------------------------------------

def read_page(path):
    with open(path, 'rb') as f:
        raw = f.read()
    text = raw.decode('utf-8')   # the page is UTF-8 throughout
    h.expect(text.startswith('<!DOCTYPE html>'), '%s does not start with <!DOCTYPE html>' % path)
    h.expect(text.rstrip().endswith('</html>'), '%s does not end with </html>' % path)
    return text


def check_self_contained(text):
    """Nothing in the file can name an outside resource."""
    for bad in ('://', 'src=', 'href=', 'url(', '@import', '<link', '<img', '<iframe', 'fetch(',
                'XMLHttpRequest', 'import('):
        h.expect(bad not in text, 'the page contains %r' % bad)
    h.expect("content=\"default-src 'none';" in text, 'no Content-Security-Policy default-src \'none\'')
    h.expect(len(re.findall(r'<script', text, re.I)) == 2 and len(re.findall(r'</script', text, re.I)) == 2,
             'not exactly the data block and one script')


def page_data(text):
    start = text.index('<script type="application/json" id="lt-data">') + len(
        '<script type="application/json" id="lt-data">')
    data = text[start:text.index('</script>', start)]
    h.expect('<' not in data and '>' not in data and '&' not in data, 'unescaped markup in the data block')
    try:
        return json.loads(data)
    except ValueError as e:
        raise h.Fail('the embedded report is not JSON: %s' % e)


def without_csp(ctx, text, name, extra_script=''):
    """A copy of the page with its Content-Security-Policy removed (so a load
    it tried would reach the recording proxy) and extra_script appended."""
    copy, n = re.subn(r'<meta http-equiv="Content-Security-Policy"[^>]*>\n?', '', text, count=1)
    h.expect(n == 1, 'no CSP meta element to remove')
    if extra_script:
        i = copy.rindex('</body>')
        copy = copy[:i] + '<script>\n' + extra_script + '\n</script>\n' + copy[i:]
    path = os.path.join(ctx.tmpdir(), name)
    with open(path, 'w') as f:
        f.write(copy)
    return path


# ---------------------------------------------------------------------------
# A screenshot is not blank
# ---------------------------------------------------------------------------

def png_pixels(path):
    """(width, height, rows of RGB tuples) of an 8-bit RGB/RGBA PNG."""
    with open(path, 'rb') as f:
        data = f.read()
    h.expect(data[:8] == b'\x89PNG\r\n\x1a\n', '%s is not a PNG' % path)
    pos, idat, width = 8, b'', 0
    while pos < len(data):
        length, kind = struct.unpack('>I4s', data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b'IHDR':
            width, height, depth, ctype, _, _, interlace = struct.unpack('>IIBBBBB', body)
            h.expect(depth == 8 and ctype in (2, 6) and not interlace, 'PNG type %d/%d' % (depth, ctype))
            bpp = 3 if ctype == 2 else 4
        elif kind == b'IDAT':
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        ftype = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if ftype == 1:
                line[i] = (line[i] + a) & 255
            elif ftype == 2:
                line[i] = (line[i] + b) & 255
            elif ftype == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(line)
        prev = line
    return width, height, bpp, rows


def flame_pixels(path):
    """How many pixels have the warm colors of native heap frames."""
    width, height, bpp, rows = png_pixels(path)
    n = 0
    for line in rows:
        for x in range(0, width * bpp, bpp):
            r, g, b = line[x], line[x + 1], line[x + 2]
            if r >= 180 and r - b >= 90 and 60 <= g <= 235:
                n += 1
    return n


# ---------------------------------------------------------------------------
# Scenarios
# ---------------------------------------------------------------------------

# Run inside a copy of the page (after its own script): hover, click, search
# and Escape as a person would, then write what the page showed into
# <pre id="lt-probe"> for the DOM dump.
PROBE = r'''
(function () {
  var out = {};
  function g(name) {
    var all = document.querySelectorAll('svg[data-graph="heap"] g.fr');
    for (var i = 0; i < all.length; i++) if (all[i].getAttribute('data-name') === name) return all[i];
    return null;
  }
  function at(el, type) {
    var r = el.querySelector('rect').getBoundingClientRect();
    el.querySelector('rect').dispatchEvent(new MouseEvent(type, { bubbles: true,
      clientX: r.left + r.width / 2, clientY: r.top + r.height / 2 }));
  }
  var svg = document.querySelector('svg[data-graph="heap"]');
  at(g('leak_via_malloc'), 'mousemove');
  var tip = document.getElementById('lt-tip');
  out.tip_shown = tip.style.display === 'block';
  out.tip = tip.textContent;
  at(g('leak_via_malloc'), 'click');
  out.zoom_width = +g('leak_via_malloc').querySelector('rect').getAttribute('width');
  out.zoom_svg_width = +svg.getAttribute('width');
  out.zoom_others = g('leak_via_calloc') !== null;
  out.zoom_anc = g('run_leaks').getAttribute('class');
  out.reset_enabled = !document.getElementById('lt-reset').disabled;
  document.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', bubbles: true }));
  out.after_escape = +svg.getAttribute('data-zoom');
  out.calloc_back = g('leak_via_calloc') !== null;
  var box = document.getElementById('lt-search');
  box.value = 'leak_via_(malloc|calloc)$';
  box.dispatchEvent(new Event('input', { bubbles: true }));
  out.matched_bytes = +svg.getAttribute('data-matched-bytes');
  out.match_text = document.getElementById('lt-match').textContent;
  out.match_classes = [g('leak_via_malloc').getAttribute('class'), g('leak_via_valloc').getAttribute('class')];
  var pre = document.createElement('pre');
  pre.id = 'lt-probe';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
'''


def leaky_page(ctx, extra_opts=()):
    d = ctx.tmpdir()
    out = os.path.join(d, 'leaky.html')
    p = h.run_to_end(ctx, ['-w', out, '-T', '0', '--format', 'html'] + list(extra_opts) +
                     ['-c', h.leaky_cmd(ctx, 2000)])
    h.expect(p.popen.returncode == 0, 'exit status %s%s' % (p.popen.returncode, h.tail(p)))
    h.expect(not [line for line in p.out_lines if line.strip()], 'leaktrace printed on stdout with -w')
    h.expect(os.path.exists(out), '%s not written' % out)
    return out


def t_html_format(ctx):
    """--format html: a self-contained page; Chromium draws each leaking function with its exact bytes."""
    path = leaky_page(ctx)
    text = read_page(path)
    check_self_contained(text)
    data = page_data(text)
    procs = [p for p in data['processes'] if p['comm'] == 'leaky']
    h.expect(len(procs) == 1, '%d leaky processes in the data' % len(procs))
    h.expect(procs[0]['heap']['bytes'] == h.LEAKY_TOTAL_BYTES, 'data: heap bytes %d, want %d' % (
        procs[0]['heap']['bytes'], h.LEAKY_TOTAL_BYTES))

    dom = load_dom(ctx, path)
    h.expect(dom.body.get('data-lt-graphs') == 'heap', 'graphs drawn: %r, want heap' % dom.body.get('data-lt-graphs'))
    graph = dom.graphs.get('heap')
    h.expect(graph and graph['frames'], 'no heap flame graph in the DOM')
    total = int(graph['attrs']['data-total'])
    h.expect(total == h.LEAKY_TOTAL_BYTES, 'graph total %d bytes, want %d' % (total, h.LEAKY_TOTAL_BYTES))
    width = float(graph['attrs']['width'])

    root = one_frame(graph, 'all')
    proc = one_frame(graph, 'leaky (%d)' % procs[0]['pid'])
    h.expect(proc['attrs']['data-kind'] == 'proc' and proc['attrs']['data-depth'] == '1',
             'process root: %s' % proc['attrs'])
    for fr in (root, proc):
        h.expect(int(fr['attrs']['data-bytes']) == total and abs(fr['rect']['width'] - width) < 0.01,
                 '%s: %s bytes, %.3f px of %.0f' % (fr['attrs']['data-name'], fr['attrs']['data-bytes'],
                                                    fr['rect']['width'], width))
    # Callers merged into one frame each (run_leaks calls from 11 lines).
    callers = [one_frame(graph, fn) for fn in h.LEAKY_CALLERS]
    for fr in callers:
        h.expect(int(fr['attrs']['data-bytes']) == total, '%s: %s bytes, want %d' % (
            fr['attrs']['data-name'], fr['attrs']['data-bytes'], total))
        check_width(graph, fr, total)
    run_leaks = callers[0]
    # Root at the bottom: each caller below its callee.
    ys = [root['rect']['y'], proc['rect']['y']] + [fr['rect']['y'] for fr in reversed(callers)]
    h.expect(ys == sorted(ys, reverse=True), 'frames are not drawn root at the bottom: y %s' % ys)

    spans = []
    for fn, (count, size) in h.LEAKY_LEAKS.items():
        fr = one_frame(graph, fn)
        a = fr['attrs']
        h.expect(int(a['data-bytes']) == count * size, '%s: data-bytes %s, want %d' % (fn, a['data-bytes'], count * size))
        h.expect(int(a['data-allocs']) == count, '%s: data-allocs %s, want %d' % (fn, a['data-allocs'], count))
        h.expect(int(a['data-depth']) == int(run_leaks['attrs']['data-depth']) + 1 and
                 fr['rect']['y'] < run_leaks['rect']['y'], '%s is not drawn on run_leaks' % fn)
        h.expect(a['data-kind'] == 'native', '%s: kind %s' % (fn, a['data-kind']))
        check_width(graph, fr, total)
        spans.append((fr['rect']['x'], fr['rect']['x'] + fr['rect']['width'], fn))
        # A label where it fits (cut with ".." when it does not all fit).
        label = fr['text'].replace('..', '')
        h.expect(fn.startswith(label) and (label or fr['rect']['width'] < 120),
                 '%s: label %r in %.0f px' % (fn, fr['text'], fr['rect']['width']))
    spans.sort()
    for (a0, a1, fa), (b0, b1, fb) in zip(spans, spans[1:]):
        h.expect(a1 <= b0 + 0.01, '%s and %s overlap' % (fa, fb))
    rx0 = run_leaks['rect']['x']
    h.expect(spans[0][0] >= rx0 - 0.01 and spans[-1][1] <= rx0 + run_leaks['rect']['width'] + 0.01,
             'leaking functions are not within run_leaks')
    h.expect(dom.text('lt-verdict') and 'unknown' in dom.text('lt-verdict'),
             'verdict card: %r' % dom.text('lt-verdict'))
    h.expect('97.8' in dom.text('lt-cards') or '95.5 KiB' in dom.text('lt-cards'),
             'header totals: %r' % dom.text('lt-cards'))

    # Interactions, on a copy without the CSP: whatever it loaded would reach the proxy.
    probe_path = without_csp(ctx, text, 'probe.html', PROBE)
    probe = load_dom(ctx, probe_path)
    try:
        res = json.loads(probe.text('lt-probe'))
    except ValueError:
        raise h.Fail('the probe script did not run: %r' % probe.text('lt-probe')[:200])
    h.log('probe: %s' % res)
    h.expect(res['tip_shown'] and '11,000 B' in res['tip'] and 'leaky.c:' in res['tip'] and
             '11.2%' in res['tip'], 'tooltip of leak_via_malloc: %r' % res['tip'])
    h.expect(abs(res['zoom_width'] - res['zoom_svg_width']) < 0.01 and not res['zoom_others'],
             'click did not zoom into leak_via_malloc: %s' % res)
    h.expect('anc' in res['zoom_anc'].split() and res['reset_enabled'], 'zoomed ancestors: %s' % res)
    h.expect(res['after_escape'] == 0 and res['calloc_back'], 'Escape did not reset the zoom: %s' % res)
    want = sum(c * s for fn, (c, s) in h.LEAKY_LEAKS.items() if fn in ('leak_via_malloc', 'leak_via_calloc'))
    h.expect(res['matched_bytes'] == want, 'search matched %s bytes, want %d' % (res['matched_bytes'], want))
    h.expect('%.1f%%' % (100.0 * want / total) in res['match_text'], 'match text %r' % res['match_text'])
    h.expect('match' in res['match_classes'][0].split() and 'match' not in res['match_classes'][1].split(),
             'match highlighting: %s' % res['match_classes'])

    shot = os.path.join(ctx.tmpdir(), 'shot.png')
    run_chromium(ctx, 'file://' + path, ['--screenshot=' + shot, '--hide-scrollbars'])
    n = flame_pixels(shot)
    h.expect(n >= 20000, 'the screenshot shows %d flame-colored pixels' % n)


def t_html_empty(ctx):
    """--format html with nothing outstanding: the page says "No outstanding allocations"."""
    path = leaky_page(ctx, ['-z', '1000000000'])
    text = read_page(path)
    check_self_contained(text)
    data = page_data(text)
    h.expect(all(not p['heap']['stacks'] for p in data['processes']), 'stacks in the data')
    dom = load_dom(ctx, path)
    h.expect(not dom.graphs, 'graphs drawn for an empty report: %s' % list(dom.graphs))
    h.expect('No outstanding allocations' in dom.text('lt-empty'), 'empty message: %r' % dom.text('lt-empty'))


def t_html_mmap(ctx):
    """--format html --mmap: anonymous regions in a flame graph of their own, exact bytes."""
    d = ctx.tmpdir()
    path = os.path.join(d, 'mmap.html')
    p = h.run_to_end(ctx, ['-w', path, '-T', '0', '--mmap', '--format', 'html', '-c',
                          ctx.prog('mmap_leaky') + ' run'])
    h.expect(p.popen.returncode == 0, 'exit status %s%s' % (p.popen.returncode, h.tail(p)))
    check_self_contained(read_page(path))
    dom = load_dom(ctx, path)
    h.expect(dom.body.get('data-lt-graphs') == 'heap mmap', 'graphs: %r' % dom.body.get('data-lt-graphs'))
    mm, heap = dom.graphs['mmap'], dom.graphs['heap']
    total = int(mm['attrs']['data-total'])
    h.expect(total == h.MMAP_TOTAL_BYTES, 'mmap graph total %d, want %d' % (total, h.MMAP_TOTAL_BYTES))
    for fn, (count, size) in h.MMAP_REGIONS.items():
        fr = one_frame(mm, fn)
        h.expect(int(fr['attrs']['data-bytes']) == count * size and int(fr['attrs']['data-allocs']) == count,
                 '%s: %s bytes in %s regions, want %d in %d' % (fn, fr['attrs']['data-bytes'],
                                                                fr['attrs']['data-allocs'], count * size, count))
        check_width(mm, fr, total)
        h.expect(not frames_named(heap, fn), '%s drawn in the heap graph' % fn)
    roots = [f['attrs']['data-name'] for f in mm['frames'] if f['attrs']['data-kind'] == 'proc']
    h.expect(len(roots) == 1 and roots[0].startswith('mmap_leaky (') and roots[0].endswith(') anonymous mmap'),
             'mmap process roots: %s' % roots)
    for fn, (count, size) in h.MMAP_HEAP.items():
        fr = one_frame(heap, fn)
        h.expect(int(fr['attrs']['data-bytes']) == count * size, 'heap %s: %s bytes' % (fn, fr['attrs']['data-bytes']))


def t_html_python(ctx):
    """--format html on a Python program: a "python objects" graph of Python frames labelled func (file:line)."""
    exe = '/usr/bin/python3.11'
    if not os.access(exe, os.X_OK):
        found = h.pythons_found()
        h.expect(found, 'no CPython found')
        exe = found[0][1]
    d = ctx.tmpdir()
    path = os.path.join(d, 'py.html')
    # GC-tracked objects: one block per object made, on every build (the
    # default also counts 3.11+ instances' values blocks on the same line).
    p = h.run_to_end(ctx, ['-w', path, '-T', '0', '--format', 'html', '--python-objects', 'gc',
                           '-c', '%s %s run' % (exe, h.PY_LEAKY)], timeout=150)
    h.expect(p.popen.returncode == 0, 'exit status %s%s' % (p.popen.returncode, h.tail(p)))
    truth = h.pyleaky_truth(p.out_lines)
    check_self_contained(read_page(path))
    dom = load_dom(ctx, path)
    h.expect('python' in (dom.body.get('data-lt-graphs') or '').split(), 'graphs: %r' % dom.body.get('data-lt-graphs'))
    py = dom.graphs['python']
    roots = [f['attrs']['data-name'] for f in py['frames'] if f['attrs']['data-kind'] == 'proc']
    h.expect(len(roots) == 1 and roots[0].endswith(') python objects'), 'python roots: %s' % roots)
    total = int(py['attrs']['data-total'])
    for site, what in (('leaky_item', 'items'), ('cache_dict', 'dicts')):
        stack = truth['stacks'][site]
        fn, line = stack[-1]
        want = '%s (%s:%d)' % (fn, h.PY_LEAKY, line)
        hits = frames_named(py, want)
        h.expect(len(hits) == 1, '%d frames %r drawn (python frames: %s)' % (len(hits), want, sorted(
            {f['attrs']['data-name'] for f in py['frames'] if f['attrs']['data-kind'] == 'python'})[:12]))
        fr = hits[0]
        h.expect(fr['attrs']['data-kind'] == 'python', '%s: kind %s' % (want, fr['attrs']['data-kind']))
        h.expect(int(fr['attrs']['data-allocs']) == truth[what], '%s: %s objects, the program made %d' % (
            want, fr['attrs']['data-allocs'], truth[what]))
        check_width(py, fr, total)


def t_html_growing(ctx):
    """--format html with interval reports: a growing stack is marked growing in the page."""
    t = ctx.target([ctx.prog('grower')], 'grower')
    if not t.expect_line('ready', 15):
        raise h.Fail('grower did not print "ready" (rc=%s)%s' % (t.poll(), h.tail(t)))
    d = ctx.tmpdir()
    path = os.path.join(d, 'grower.html')
    p = h.attach_pid(ctx, ['-w', path, '-T', '0', '--format', 'html', '-o', '0', '-p', str(t.pid), '0.5'])
    h.expect(t.send('go\n'), 'cannot write to grower stdin')
    h.expect(t.expect_line('going', 15), 'grower did not start%s' % h.tail(t))
    time.sleep(7)  # ~14 interval reports feed the verdicts; the page draws the final one
    rc = h.interrupt(p, signal.SIGINT)
    h.expect(rc == 0, 'exit status %s after SIGINT%s' % (rc, h.tail(p)))
    data = page_data(read_page(path))['reports'][-1]
    stacks = [s for q in data['processes'] for s in q['heap']['stacks']
              if any(data['frames'][i]['name'] == 'grow_leak' for i in s['f'])]
    h.expect(stacks and stacks[0].get('v') == 'growing', 'grow_leak in the data: %s' % stacks[:1])
    dom = load_dom(ctx, path)
    graph = dom.graphs['heap']
    fr = one_frame(graph, 'grow_leak')
    h.expect(int(fr['attrs'].get('data-growing', 0)) == int(fr['attrs']['data-bytes']) and
             'grow' in fr['attrs']['class'].split(), 'grow_leak not marked growing: %s' % fr['attrs'])
    h.expect(fr['text'].startswith('\u25b2'), 'grow_leak label %r has no growing mark' % fr['text'])
    for fn in ('cache_refill', 'fixed_state'):
        for f in frames_named(graph, fn):
            h.expect('data-growing' not in f['attrs'], '%s marked growing' % fn)
    h.expect('Growing' in dom.text('lt-verdict') and 'bad' in dom.ids['lt-verdict']['attrs']['class'],
             'verdict card: %r' % dom.text('lt-verdict'))


# Run inside a copy of a page with several reports: read the charts, move
# the slider to report AT, then ask for the growth from AT to the last.
HISTORY_PROBE = r'''
(function () {
  var out = { series: [], at: AT };
  document.querySelectorAll('svg.trend[data-chart="bytes"] g.series').forEach(function (g) {
    var pts = Array.prototype.map.call(g.querySelectorAll('circle.pt'), function (c) {
      return [+c.getAttribute('data-report'), +c.getAttribute('data-value')];
    });
    out.series.push({ label: g.getAttribute('data-label'), verdict: g.getAttribute('data-verdict'),
      rate: g.getAttribute('data-rate'), points: pts });
  });
  function heap() {
    var svg = document.querySelector('svg[data-graph="heap"]'), r = { total: svg ? +svg.getAttribute('data-total') : null, grow: null };
    if (svg) svg.querySelectorAll('g.fr').forEach(function (g) {
      if (g.getAttribute('data-name') === 'grow_leak') r.grow = (r.grow || 0) + +g.getAttribute('data-bytes');
    });
    r.view = document.body.getAttribute('data-lt-view');
    r.sub = document.getElementById('lt-sub').textContent;
    return r;
  }
  out.initial = heap();
  var range = document.getElementById('lt-when');
  range.value = String(AT);
  range.dispatchEvent(new Event('input', { bubbles: true }));
  out.slid = heap();
  out.label = document.getElementById('lt-when-label').textContent;
  out.marker = document.querySelector('svg.trend line.marker').getAttribute('x1');
  out.point_x = document.querySelector('svg.trend circle.pt[data-report="' + AT + '"]').getAttribute('cx');
  document.getElementById('lt-diff-from').value = String(AT);
  document.getElementById('lt-diff-to').value = String(+range.max);
  document.getElementById('lt-diff-show').click();
  out.diff = heap();
  document.getElementById('lt-diff-back').click();
  out.back = heap();
  var pre = document.createElement('pre');
  pre.id = 'lt-probe';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
'''


def stack_key(report, proc, stack):
    return (proc['pid'],) + tuple(report['frames'][i]['name'] for i in stack['f'])


def heap_bytes(report):
    return sum(s['b'] for p in report['processes'] for s in p['heap']['stacks'])


def grow_leak_bytes(report):
    return sum(s['b'] for p in report['processes'] for s in p['heap']['stacks']
               if report['frames'][s['f'][-1]]['name'] == 'grow_leak') if report['processes'] else 0


def series_pixels(path, rgb, tol=40):
    width, height, bpp, rows = png_pixels(path)
    n = 0
    for line in rows:
        for x in range(0, width * bpp, bpp):
            if all(abs(line[x + k] - rgb[k]) <= tol for k in range(3)):
                n += 1
    return n


def grower_history_page(ctx, seconds=5.0, interval='0.5'):
    t = ctx.target([ctx.prog('grower')], 'grower')
    if not t.expect_line('ready', 15):
        raise h.Fail('grower did not print "ready" (rc=%s)%s' % (t.poll(), h.tail(t)))
    path = os.path.join(ctx.tmpdir(), 'grower.html')
    p = h.attach_pid(ctx, ['-w', path, '-T', '0', '--format', 'html', '-o', '0', '-p', str(t.pid), interval])
    h.expect(t.send('go\n'), 'cannot write to grower stdin')
    h.expect(t.expect_line('going', 15), 'grower did not start%s' % h.tail(t))
    time.sleep(seconds)
    rc = h.interrupt(p, signal.SIGINT)
    h.expect(rc == 0, 'exit status %s after SIGINT%s' % (rc, h.tail(p)))
    return path


def t_html_history(ctx):
    """--format html with INTERVAL: every report charted (one point each, the page's numbers), a slider redraws the graphs at a report, a diff graph shows what grew between two; a screenshot shows the chart."""
    path = grower_history_page(ctx)
    text = read_page(path)
    check_self_contained(text)
    data = page_data(text)
    h.expect(data.get('schema') == 'leaktrace/html/v2', 'schema %r' % data.get('schema'))
    reports = data['reports']
    n = len(reports)
    h.expect(n >= 8 and reports[-1]['final'] and not any(r['final'] for r in reports[:-1]),
             '%d reports, finals %s' % (n, [r['final'] for r in reports]))
    h.expect(all(a['elapsed_s'] < b['elapsed_s'] for a, b in zip(reports, reports[1:])), 'reports out of order')
    at = 2
    dom = load_dom(ctx, without_csp(ctx, text, 'probe.html', HISTORY_PROBE.replace('AT', str(at))))
    h.expect(dom.body.get('data-lt-reports') == str(n), 'data-lt-reports %r, want %d' % (dom.body.get('data-lt-reports'), n))
    res = json.loads(dom.text('lt-probe'))

    # The chart: the page's own numbers, one point per report.
    want = {}
    for i, r in enumerate(reports):
        for p in r['processes']:
            for s in p['heap']['stacks']:
                want.setdefault(stack_key(r, p, s), [0] * n)[i] += s['b']
    drawn = {}
    for ser in res['series']:
        h.expect([pt[0] for pt in ser['points']] == list(range(n)), '%s: points for reports %s' % (
            ser['label'], [pt[0] for pt in ser['points']]))
        drawn[ser['label']] = ser
    grow = [ser for label, ser in drawn.items() if label.startswith('grow_leak in grower')]
    h.expect(len(grow) == 1, 'no grow_leak series in %s' % sorted(drawn))
    grow = grow[0]
    key = [k for k in want if k[-1] == 'grow_leak']
    h.expect(len(key) == 1, 'grow_leak stacks in the data: %s' % key)
    values = [pt[1] for pt in grow['points']]
    h.expect(values == want[key[0]], 'grow_leak drawn %s, the reports say %s' % (values, want[key[0]]))
    h.expect(all(a <= b for a, b in zip(values, values[1:])) and values[-1] >= values[0] + 8 * 4096,
             'grow_leak does not grow: %s' % values)
    h.expect(grow['verdict'] == 'growing' and float(grow['rate']) > 20000, 'grow_leak series: %s %s' % (
        grow['verdict'], grow['rate']))
    cache = [ser for label, ser in drawn.items() if label.startswith('cache_refill in grower')]
    h.expect(cache and cache[0]['verdict'] == 'stable', 'cache_refill series: %s' % cache[:1])

    # The newest report first; the slider; the diff; back.
    h.expect(res['initial']['view'] == 'report:%d' % (n - 1) and res['initial']['total'] == heap_bytes(reports[-1]),
             'first drawn: %s, want report %d with %d bytes' % (res['initial'], n - 1, heap_bytes(reports[-1])))
    h.expect(res['slid']['view'] == 'report:%d' % at and res['slid']['total'] == heap_bytes(reports[at]) and
             res['slid']['grow'] == grow_leak_bytes(reports[at]),
             'slider at %d: %s, want %d bytes, grow_leak %d' % (at, res['slid'], heap_bytes(reports[at]),
                                                                grow_leak_bytes(reports[at])))
    h.expect(('report %d of %d' % (at + 1, n)) in res['label'], 'slider label %r' % res['label'])
    h.expect(abs(float(res['marker']) - float(res['point_x'])) < 0.01, 'the chart marker is not at report %d' % at)
    before = {}
    for p in reports[at]['processes']:
        for s in p['heap']['stacks']:
            before[stack_key(reports[at], p, s)] = s['b']
    grown = sum(max(0, s['b'] - before.get(stack_key(reports[-1], p, s), 0))
                for p in reports[-1]['processes'] for s in p['heap']['stacks'])
    h.expect(res['diff']['view'] == 'diff:%d:%d' % (at, n - 1) and res['diff']['total'] == grown and
             res['diff']['grow'] == grow_leak_bytes(reports[-1]) - grow_leak_bytes(reports[at]),
             'growth %d..%d: %s, want %d bytes, grow_leak %d' % (
                 at, n - 1, res['diff'], grown, grow_leak_bytes(reports[-1]) - grow_leak_bytes(reports[at])))
    h.expect(res['diff']['sub'].startswith('Growth from report %d' % (at + 1)), 'diff title %r' % res['diff']['sub'])
    h.expect(res['back']['view'] == 'report:%d' % at, 'back to %s' % res['back'])

    # The real page, as a person sees it: the first series' blue line.
    shot = os.path.join(ctx.tmpdir(), 'shot.png')
    run_chromium(ctx, 'file://' + path, ['--screenshot=' + shot, '--hide-scrollbars'])
    blue = series_pixels(shot, (0x1f, 0x6f, 0xd1))
    h.expect(blue >= 300, 'the screenshot shows %d pixels of the first series\' color' % blue)
    h.expect(flame_pixels(shot) >= 2000, 'the screenshot shows no flame graph')


# Reads one chart's series into <pre id="lt-probe">.
CHART_PROBE = r'''
(function () {
  var out = [];
  document.querySelectorAll('svg.trend[data-chart="CHART"] g.series').forEach(function (g) {
    out.push({ label: g.getAttribute('data-label'), verdict: g.getAttribute('data-verdict'),
      points: Array.prototype.map.call(g.querySelectorAll('circle.pt'), function (c) {
        return [+c.getAttribute('data-report'), +c.getAttribute('data-value')];
      }) });
  });
  var pre = document.createElement('pre');
  pre.id = 'lt-probe';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
'''

# Keeps 200 more Invoice objects every 100 ms once told "go".
PY_GROWER = r'''
import sys, time
class Invoice:
    def __init__(self, i):
        self.i = i
print("ready", flush=True)
sys.stdin.readline()
print("going", flush=True)
kept = []
for _ in range(900):
    kept.extend(Invoice(i) for i in range(200))
    time.sleep(0.1)
'''


def t_html_python_history(ctx):
    """--format html with INTERVAL on a Python program keeping objects: the Python types chart has the class rising, one point per report, each the report's own bytes, growing."""
    exe = '/usr/bin/python3.11'
    if not os.access(exe, os.X_OK):
        raise h.Skip('%s is not installed' % exe)
    t = ctx.target([exe, '-c', PY_GROWER], 'py_grower')
    h.expect(t.expect_line('ready', 30), 'the Python grower did not start%s' % h.tail(t))
    path = os.path.join(ctx.tmpdir(), 'pygrow.html')
    p = h.attach_pid(ctx, ['-w', path, '-T', '0', '--format', 'html', '-o', '0', '-p', str(t.pid), '0.5'])
    h.expect(t.send('go\n') and t.expect_line('going', 15), 'the Python grower did not go%s' % h.tail(t))
    time.sleep(6)
    rc = h.interrupt(p, signal.SIGINT)
    h.expect(rc == 0, 'exit status %s after SIGINT%s' % (rc, h.tail(p)))
    text = read_page(path)
    reports = page_data(text)['reports']
    n = len(reports)
    want = []
    for r in reports:
        want.append(sum(ty['bytes'] for q in r['processes'] if q['pid'] == t.pid and q.get('python')
                        for ty in q['python']['types'] if ty['name'] == 'Invoice'))
    h.expect(n >= 8 and want[-1] > want[0], 'Invoice bytes by report: %s' % want)
    dom = load_dom(ctx, without_csp(ctx, text, 'probe.html', CHART_PROBE.replace('CHART', 'python')))
    series = [x for x in json.loads(dom.text('lt-probe')) if x['label'].startswith('Invoice in ')]
    h.expect(len(series) == 1, 'no Invoice series in the Python types chart: %s' % dom.text('lt-probe')[:300])
    pts = series[0]['points']
    h.expect([i for i, _ in pts] == list(range(n)) and [v for _, v in pts] == want,
             'Invoice drawn %s, the reports say %s' % (pts, want))
    h.expect(series[0]['verdict'] == 'growing', 'Invoice series verdict %r' % series[0]['verdict'])


# ---------------------------------------------------------------------------
# --holders: the chains drawn as a graph
# ---------------------------------------------------------------------------

PY_HOLDERS_PAGE = os.path.join(h.SRC_PROGS, 'py_holders_page.py')
HOLDERS_SAMPLES = 8
HOLDERS_CHARS = 44   # the page's HCHARS: longer labels are cut in the middle


class HoldersDom(html.parser.HTMLParser):
    """The holders figures of a dumped page, by data-pid: the caption, the
    error or no-chain note, the svg.holders and each g.chain with its text.cap,
    its boxes (g.hn: class, data-label, drawn text, title) and its arrows.
    Also every element carrying an on* attribute anywhere (the page has none:
    one would be markup from the traced process made into elements)."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.figures = {}
        self.handlers = []
        self._fig = self._chain = self._node = None
        self._open = []   # (tag, classes, (dict, key) collecting its text or None), in a figure
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if any(k.startswith('on') for k in a):
            self.handlers.append((tag, a))
        cls = a.get('class', '').split()
        if tag == 'figure' and 'holders' in cls:
            self._fig = {'caption': '', 'error': None, 'none': None, 'svgs': [], 'chains': []}
            self.figures[a.get('data-pid')] = self._fig
            self._open = []
        if self._fig is None:
            return
        sink = None
        if tag == 'figcaption':
            sink = (self._fig, 'caption')
        elif tag == 'p' and ('holders-error' in cls or 'holders-none' in cls):
            key = 'error' if 'holders-error' in cls else 'none'
            self._fig[key] = ''
            sink = (self._fig, key)
        elif tag == 'svg':
            self._fig['svgs'].append(a)
        elif tag == 'g' and 'chain' in cls:
            self._chain = {'attrs': a, 'cap': '', 'nodes': [], 'arrows': 0}
            self._fig['chains'].append(self._chain)
        elif tag == 'g' and 'hn' in cls and self._chain is not None:
            self._node = {'class': cls, 'label': a.get('data-label'), 'text': '', 'title': ''}
            self._chain['nodes'].append(self._node)
        elif tag == 'g' and 'arrow' in cls and self._chain is not None:
            self._chain['arrows'] += 1
        elif tag == 'text' and 'cap' in cls and self._chain is not None:
            sink = (self._chain, 'cap')
        elif tag in ('text', 'title') and self._node is not None:
            sink = (self._node, tag)
        self._open.append((tag, cls, sink))

    def handle_endtag(self, tag):
        if self._fig is None:
            return
        cls = []
        while self._open:
            t, cls, _ = self._open.pop()
            if t == tag:
                break
        if tag == 'g' and 'hn' in cls:
            self._node = None
        elif tag == 'g' and 'chain' in cls:
            self._chain = None
        elif tag == 'figure':
            self._fig = None

    def handle_data(self, data):
        for _, _, sink in self._open:
            if sink:
                sink[0][sink[1]] += data


def holders_python():
    for exe in sorted(glob.glob('/root/.pyenv/versions/3.12*/bin/python3')) + ['/usr/bin/python3.11']:
        if os.access(exe, os.X_OK):
            return exe
    found = h.pythons_found()
    if not found:
        raise h.Skip('no CPython found')
    return found[0][1]


def holders_dom(ctx, path):
    raw = run_chromium(ctx, 'file://' + path, ['--dump-dom'])
    dom = Dom(raw)
    h.expect(dom.body.get('data-lt-state') == 'ready', 'page state %r, not ready: %s' % (
        dom.body.get('data-lt-state'), dom.text('lt-error')[:300]))
    return HoldersDom(raw)


def with_data(ctx, text, data, name):
    """A copy of the page holding data instead of its report, escaped as
    leaktrace escapes it."""
    start = text.index('<script type="application/json" id="lt-data">') + len(
        '<script type="application/json" id="lt-data">')
    end = text.index('</script>', start)
    block = json.dumps(data).replace('<', '\\u003c').replace('>', '\\u003e').replace('&', '\\u0026')
    path = os.path.join(ctx.tmpdir(), name)
    with open(path, 'w') as f:
        f.write(text[:start] + '\n' + block + '\n' + text[end:])
    return path


def cut_label(label):
    """The page's cut: the first and last code points around an ellipsis."""
    if len(label) <= HOLDERS_CHARS:
        return label
    head = -(-(HOLDERS_CHARS - 1) // 2)
    return label[:head] + '\u2026' + label[len(label) - (HOLDERS_CHARS - 1 - head):]


def t_html_holders(ctx):
    """--format html --holders: each chain of a Python process drawn in Chromium as boxes (the object, each holder by its link, the root) joined by arrows, with its "N of M sampled, made at file:line" and the pauses; markup in names stays text, long names are cut with the whole in a tooltip; an error and no chains are said."""
    exe = holders_python()
    sites = h.source_sites('py_holders_page.py')
    t = ctx.target([exe, PY_HOLDERS_PAGE], 'py_holders_page')
    h.expect(t.expect_line('ready', 30), 'py_holders_page did not start%s' % h.tail(t))
    path = os.path.join(ctx.tmpdir(), 'holders.html')
    p = h.attach_pid(ctx, ['-w', path, '--format', 'html', '--holders', '--holders-samples',
                           str(HOLDERS_SAMPLES), '-p', str(t.pid)])
    time.sleep(3)
    rc = h.interrupt(p, signal.SIGINT)
    h.expect(rc == 0, 'exit status %s after SIGINT%s' % (rc, h.tail(p)))
    text = read_page(path)
    check_self_contained(text)
    data = page_data(text)
    procs = [q for q in data['processes'] if q['pid'] == t.pid and q.get('python')]
    h.expect(len(procs) == 1, 'no Python process %d in the data' % t.pid)
    hd = procs[0]['python'].get('holders')
    h.expect(hd and hd['ok'] and hd['chains'], 'holders in the data: %s' % json.dumps(hd)[:300])

    # What leaktrace must have found (the page is then held to the data).
    key = re.escape("dict['</script><svg onload=\"alert(1)\"> & sessions of tenant ") + r"k+(\.\.\.)?'\]"
    want = {
        'InvoiceRecord': ([r'list\[\d+\]'], 'module __main__: _AUDIT_TRAIL', 'invoice'),
        'str': ([r'InvoiceRecord\.note', r'list\[\d+\]'], 'module __main__: _AUDIT_TRAIL', 'note'),
        'Session': ([r'list\[\d+\]', key], 'module __main__: _SESSIONS', 'session'),
        'Pending': ([r'list\[\d+\]'], 'frame main in %s (thread %d): local pending' % (PY_HOLDERS_PAGE, t.pid),
                    'pending'),
    }
    for typ, (links, root, site) in want.items():
        where = '%s:%d' % (PY_HOLDERS_PAGE, sites[site])
        cs = [c for c in hd['chains'] if c['type'] == typ and c['where'] == where]
        h.expect(len(cs) == 1, '%s made at %s: %d chains in %s' % (typ, where, len(cs),
                                                                  [c['text'] for c in hd['chains']]))
        c = cs[0]
        got = [k['text'] for k in c['links']]
        h.expect(len(got) == len(links) and all(re.fullmatch(w, g) for w, g in zip(links, got)) and
                 c['root']['text'] == root and c['samples'] == c['sampled'] == HOLDERS_SAMPLES,
                 '%s: %s (%d of %d sampled), want links %s, root %r' % (
                     typ, c['text'], c['samples'], c['sampled'], links, root))

    # The page, as Chromium drew it.
    hdom = holders_dom(ctx, path)
    fig = hdom.figures.get(str(t.pid))
    h.expect(fig, 'no holders figure for pid %d (figures: %s)' % (t.pid, list(hdom.figures)))
    h.expect(len(fig['svgs']) == 1 and fig['svgs'][0].get('class') == 'holders' and
             fig['svgs'][0].get('data-pid') == str(t.pid) and
             fig['svgs'][0].get('data-chains') == str(len(hd['chains'])),
             'holders svg of %d: %s' % (t.pid, fig['svgs']))
    cap = fig['caption']
    pauses = ' + '.join('%.1f ms' % v for v in hd['pause_ms'])
    h.expect(cap.startswith('%s (%d): ' % (procs[0]['comm'], t.pid)) and
             ('paused ' + pauses) in cap and
             ('%s objects read' % format(hd['objects'], ',')) in cap and
             ('consistent: the whole walk ran in the first pause' in cap) == hd['consistent'] and
             ('not consistent' in cap) == (not hd['consistent'] and bool(hd['pause_ms'])),
             'caption %r for pauses %s, consistent %s' % (cap, hd['pause_ms'], hd['consistent']))
    h.expect(len(fig['chains']) == len(hd['chains']), '%d chains drawn, %d in the data' % (
        len(fig['chains']), len(hd['chains'])))
    for dc, g in zip(hd['chains'], fig['chains']):
        a = g['attrs']
        h.expect(a.get('data-type') == dc['type'] and a.get('data-samples') == str(dc['samples']) and
                 a.get('data-sampled') == str(dc['sampled']) and a.get('data-root-kind') == dc['root']['kind'],
                 'chain %s drawn as %s' % (dc['text'], a))
        want_cap = '%d of %d sampled, made at %s' % (dc['samples'], dc['sampled'], dc['where'])
        h.expect(g['cap'] == want_cap + ('; through an object not decoded' if dc['conservative'] else ''),
                 'chain %s: caption %r, want %r' % (dc['text'], g['cap'], want_cap))
        labels = [dc['type']] + [k['text'] for k in dc['links']] + [dc['root']['text']]
        kinds = [['hn', 'obj']] + [['hn', 'link']] * len(dc['links']) + [['hn', 'root', dc['root']['kind']]]
        drawn = [n['label'] for n in g['nodes']]
        h.expect(drawn == labels and [n['class'] for n in g['nodes']] == kinds,
                 'chain %s: boxes %s %s, want %s' % (dc['text'], drawn, [n['class'] for n in g['nodes']], labels))
        h.expect(g['arrows'] == len(labels) - 1, 'chain %s: %d arrows for %d boxes' % (
            dc['text'], g['arrows'], len(labels)))
        for n in g['nodes']:
            h.expect(n['text'] == cut_label(n['label']), 'box %r shows %r, want %r' % (
                n['label'], n['text'], cut_label(n['label'])))
            h.expect(n['title'].split('\n', 1)[0] == n['label'], 'box %r: tooltip %r' % (n['label'], n['title']))

    # The known chains, as a person reads them.
    by_type = {g['attrs']['data-type']: g for g in fig['chains']}
    for typ, (links, root, site) in want.items():
        g = by_type[typ]
        shown = [n['text'] for n in g['nodes']]
        h.expect(shown[0] == typ and g['cap'] == '%d of %d sampled, made at %s:%d' % (
            HOLDERS_SAMPLES, HOLDERS_SAMPLES, PY_HOLDERS_PAGE, sites[site]),
            '%s: drawn %s, %r' % (typ, shown, g['cap']))
    shown = [n['text'] for n in by_type['InvoiceRecord']['nodes']]
    h.expect(len(shown) == 3 and re.fullmatch(r'list\[\d+\]', shown[1]) and
             shown[2] == 'module __main__: _AUDIT_TRAIL', 'InvoiceRecord drawn as %s' % shown)
    shown = [n['text'] for n in by_type['str']['nodes']]
    h.expect(len(shown) == 4 and shown[1] == 'InvoiceRecord.note' and re.fullmatch(r'list\[\d+\]', shown[2]) and
             shown[3] == 'module __main__: _AUDIT_TRAIL', 'str drawn as %s' % shown)
    session = by_type['Session']['nodes']
    h.expect(len(session) == 4 and session[2]['text'].startswith("dict['</script><svg on\u2026") and
             session[2]['text'].endswith("kkk...']") and len(session[2]['text']) == HOLDERS_CHARS and
             session[2]['title'].startswith(session[2]['label']) and session[3]['text'] == 'module __main__: _SESSIONS',
             'Session drawn as %s' % [(n['text'], n['title']) for n in session])
    pending = by_type['Pending']['nodes']
    h.expect(pending[-1]['text'].endswith(': local pending') and '\u2026' in pending[-1]['text'],
             'Pending\'s root drawn as %r' % pending[-1]['text'])
    h.expect(not hdom.handlers, 'markup from the traced process became elements: %s' % hdom.handlers[:3])

    # A walk that failed, and one that found no chain: said in words, nothing drawn.
    fake = json.loads(json.dumps(data))
    base_proc = [q for q in fake['processes'] if q['pid'] == t.pid][0]
    failed = json.loads(json.dumps(base_proc))
    failed['pid'] = 1000001
    failed['python']['holders'] = {'ok': False, 'error': '<b>the process exited</b>', 'pause_ms': [],
                                   'consistent': False, 'chains': []}
    empty = json.loads(json.dumps(base_proc))
    empty['pid'] = 1000002
    empty['python']['holders'] = dict(hd, chains=[], sampled=5, unreached=5)
    fake['processes'] += [failed, empty]
    hdom = holders_dom(ctx, with_data(ctx, text, fake, 'holders-fake.html'))
    f1, f2 = hdom.figures.get('1000001'), hdom.figures.get('1000002')
    h.expect(f1 and f1['error'] == 'Holders: none found: <b>the process exited</b>' and not f1['svgs'],
             'figure of a failed walk: %s' % f1)
    h.expect(f2 and f2['none'] == 'No chain of holders found for the 5 objects sampled.' and not f2['svgs'] and
             '5 not met in the walk' in f2['caption'], 'figure with no chains: %s' % f2)
    h.expect(len(hdom.figures.get(str(t.pid), {}).get('chains', [])) == len(hd['chains']),
             'the real process\'s chains are not drawn beside them')


SCENARIOS = [
    ('html_format', t_html_format),
    ('html_empty', t_html_empty),
    ('html_mmap', t_html_mmap),
    ('html_python', t_html_python),
    ('html_growing', t_html_growing),
    ('html_history', t_html_history),
    ('html_python_history', t_html_python_history),
    ('html_holders', t_html_holders),
]
