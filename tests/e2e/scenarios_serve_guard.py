# SPDX-License-Identifier: MIT
"""--serve under clients that misbehave: scrapes keep being answered, and
what was refused or closed is counted exactly in /metrics.

serve_slow_clients, on loopback addresses of its own (127.0.0.2 and up;
the scrapes come from 127.0.0.1):
  1. 1,000 connections from one address, each with half a request header
     and then silence: the newest 32 are held, each new one taking the
     place of that address's oldest (968 evicted); a scrape answers in
     under 1 s. Then 40 such from 127.0.0.1, the scraper's own address
     (the case that blinded the endpoint with 33): a scrape still answers
     in under 1 s, taking the place of one of them.
  2. 1,000 such connections from 1,000 addresses: the table holds 512, the
     oldest idle ones make room (489 evicted once the scrape is in); a
     scrape answers in under 1 s.
  3. One client that sends a byte of its header every 0.5 s: it and the
     511 idle ones left are closed at their 10 s request deadline (512
     request timeouts), which the clients see as the end of the stream.

serve_many_scrapers: 100 concurrent scrapers, each from an address of its
own, for 10 s: every request is answered 200 with the whole body, and leaktrace's resident anonymous
memory grows by less than SCRAPERS_RSS_BOUND over what it had before.

serve_malformed: overlong request lines and headers, bad methods, bodies,
garbage, and 2,000 seeded random mutations of a valid request: every
answer is a 4xx status (or 200 for what is still a valid GET), or the
connection is closed; leaktrace never crashes and answers a normal
scrape afterwards. libmicrohttpd has no entry point that parses a request
without a connection, so the mutations go through real sockets.
"""

import http.client
import random
import socket
import threading
import time
import urllib.request

import __main__ as h
import scenarios_serve as serve

HALF_REQUEST = b'GET /metrics HTTP/1.1\r\nHost: leaktrace\r\n'
PER_CLIENT, MAX_CONNECTIONS, REQUEST_TIMEOUT_S = 32, 512, 10
SCRAPERS, SCRAPE_SECONDS = 100, 10
SCRAPERS_RSS_BOUND = 16 << 20


def start_agent(ctx):
    port = serve.free_port()
    t = h.start_waiting_leaky(ctx)
    p = h.attach_pid(ctx, ['-T', '0', '-p', str(t.pid), '--serve', '127.0.0.1:%d' % port, '1'])
    serve.wait_serving(p, port)
    return t, p, port


def timed_scrape(port, limit=1.0):
    """The /metrics text, checked to come within limit seconds."""
    start = time.monotonic()
    status, _, body = serve.http('http://127.0.0.1:%d/metrics' % port, timeout=limit + 5)
    took = time.monotonic() - start
    h.expect(status == 200, 'scrape: status %d' % status)
    h.expect(took < limit, 'scrape took %.3f s under the flood, limit %.1f s' % (took, limit))
    h.log('scrape answered in %.3f s' % took)
    return body.decode()


def counter(text, name, **labels):
    return int(serve.metric_value(text, name, **labels))


def half_open(src, port):
    """A connection from src that sent half a request header."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((src, 0))
    s.settimeout(5)
    s.connect(('127.0.0.1', port))
    s.sendall(HALF_REQUEST)
    return s


def closed_by_server(s, wait):
    """True when the server ended the stream (EOF or reset) within wait s."""
    s.settimeout(wait)
    try:
        return s.recv(1) == b''
    except socket.timeout:
        return False
    except OSError:
        return True


def close_all(socks):
    for s in socks:
        s.close()
    socks.clear()


def t_serve_slow_clients(ctx):
    """1,000 idle half-open connections, from one address and from 1,000: scrapes answer in under 1 s."""
    t, p, port = start_agent(ctx)
    socks = []
    try:
        # 1. One address: its newest 32 are held, each new one taking the
        # place of its oldest idle one.
        for _ in range(1000):
            socks.append(half_open('127.0.0.2', port))
        time.sleep(0.5)
        text = timed_scrape(port)
        evicted = counter(text, 'leaktrace_http_connections_closed_total', reason='evicted')
        h.expect(evicted == 1000 - PER_CLIENT, '%d evicted from one address, want %d' % (evicted, 1000 - PER_CLIENT))
        h.expect(counter(text, 'leaktrace_http_connections_refused_total', reason='per_client') == 0,
                 'connections refused while their address had idle ones')
        held = [not closed_by_server(s, 0.01) for s in socks]
        h.expect(held == [False] * (1000 - PER_CLIENT) + [True] * PER_CLIENT,
                 '%d held, not the newest %d' % (sum(held), PER_CLIENT))
        # The case: the flood from the scraper's own address.
        for _ in range(40):
            socks.append(half_open('127.0.0.1', port))
        time.sleep(0.5)
        text = timed_scrape(port)
        h.expect(counter(text, 'leaktrace_http_connections_closed_total', reason='evicted') ==
                 evicted + 40 - PER_CLIENT + 1, 'a scrape from the flooding address did not make its room')
        close_all(socks)
        deadline = time.monotonic() + 5
        while counter(timed_scrape(port), 'leaktrace_http_connections_open') > 1:
            h.expect(time.monotonic() < deadline, 'closed connections still counted open after 5 s')
            time.sleep(0.1)

        # 2. A thousand addresses: the oldest idle connections make room.
        for i in range(1000):
            socks.append(half_open('127.0.%d.%d' % (1 + i // 250, 1 + i % 250), port))
        phase2 = time.monotonic()
        time.sleep(0.5)
        text = timed_scrape(port)
        before = evicted + 40 - PER_CLIENT + 1
        evicted = counter(text, 'leaktrace_http_connections_closed_total', reason='evicted') - before
        # 1,000 + the scrape's own connection into 512 places.
        h.expect(evicted == 1000 + 1 - MAX_CONNECTIONS, '%d evicted, want %d' % (
            evicted, 1000 + 1 - MAX_CONNECTIONS))
        gone = [s for s in socks[:1000 + 1 - MAX_CONNECTIONS] if closed_by_server(s, 1.0)]
        h.expect(len(gone) == len(socks[:1000 + 1 - MAX_CONNECTIONS]),
                 'only %d of the oldest connections were closed' % len(gone))
        h.expect(counter(text, 'leaktrace_http_connections_refused_total', reason='full') == 0,
                 'connections refused while idle ones could make room')

        # 3. A client trickling its header (the scrape's place is free
        # again, so it evicts no one); it and the idle ones are closed at
        # their deadline.
        trickler = half_open('127.0.0.3', port)
        stop = threading.Event()

        def trickle():
            while not stop.wait(0.5):
                try:
                    trickler.send(b'X')
                except OSError:
                    return
        th = threading.Thread(target=trickle, daemon=True)
        th.start()
        trickle_start = time.monotonic()
        time.sleep(max(0.0, phase2 + REQUEST_TIMEOUT_S + 1.0 - time.monotonic()))
        idle_left = MAX_CONNECTIONS - 1  # the scrape evicted one
        held = socks[1000 + 1 - MAX_CONNECTIONS:]
        h.expect(len(held) == idle_left, 'bookkeeping: %d held, want %d' % (len(held), idle_left))
        h.expect(all(closed_by_server(s, 2.0) for s in held),
                 'idle connections still open %.1f s after their start' % (time.monotonic() - phase2))
        h.expect(closed_by_server(trickler, max(0.5, trickle_start + REQUEST_TIMEOUT_S + 2.0 - time.monotonic())),
                 'the trickling client was not closed at its 10 s request deadline')
        closed_at = time.monotonic() - trickle_start
        h.expect(closed_at < REQUEST_TIMEOUT_S + 2.0, 'trickler closed after %.1f s' % closed_at)
        stop.set()
        th.join(5)
        text = timed_scrape(port)
        timeouts = counter(text, 'leaktrace_http_connections_closed_total', reason='request_timeout')
        h.expect(timeouts == idle_left + 1, '%d request timeouts, want %d' % (timeouts, idle_left + 1))
        h.expect(counter(text, 'leaktrace_http_connections_closed_total', reason='evicted') == before + evicted,
                 'evictions with room to spare')
        trickler.close()
        rc = h.interrupt(p)
        h.expect(rc == 0, 'exit status %s after SIGINT%s' % (rc, h.tail(p)))
    finally:
        close_all(socks)


def rss_bytes(pid):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            # Anonymous: the code pages a scrape first touches are the
            # binary's and its libraries', shared, not memory it holds.
            if line.startswith('RssAnon:'):
                return int(line.split()[1]) * 1024
    raise h.Fail('no RssAnon for pid %d' % pid)


def t_serve_many_scrapers(ctx):
    """100 concurrent scrapers for 10 s: all answered, leaktrace's memory grows by less than the bound."""
    t, p, port = start_agent(ctx)
    h.trigger(t)
    url = 'http://127.0.0.1:%d/metrics' % port
    deadline = time.monotonic() + 5
    while 'leaktrace_process_outstanding_bytes{pid="%d"' % t.pid not in serve.http(url)[2].decode():
        h.expect(time.monotonic() < deadline, 'no report of the leak within 5 s')
        time.sleep(0.2)
    for _ in range(20):
        serve.http(url)  # the reply path warmed up
    before = rss_bytes(p.pid)
    lock = threading.Lock()
    results = {'ok': 0, 'bad': []}
    peak = [before]
    end = time.monotonic() + SCRAPE_SECONDS

    def scraper(src):
        while time.monotonic() < end:
            try:
                conn = http.client.HTTPConnection('127.0.0.1', port, timeout=10, source_address=(src, 0))
                try:
                    conn.request('GET', '/metrics')
                    r = conn.getresponse()
                    status, body = r.status, r.read()
                finally:
                    conn.close()
                # Whole: the report's part and the server's tail.
                good = status == 200 and b'leaktrace_build_info' in body and \
                    body.rstrip().split(b'\n')[-1].startswith(b'leaktrace_http_requests_refused_total')
            except OSError as e:
                status, good = repr(e), False
            with lock:
                if good:
                    results['ok'] += 1
                else:
                    results['bad'].append(status)

    # Each from an address of its own: from one, the 33rd would be refused.
    threads = [threading.Thread(target=scraper, args=('127.0.3.%d' % (1 + i),), daemon=True)
               for i in range(SCRAPERS)]
    for th in threads:
        th.start()
    while any(th.is_alive() for th in threads):
        peak[0] = max(peak[0], rss_bytes(p.pid))
        time.sleep(0.1)
    for th in threads:
        th.join(15)
    after = rss_bytes(p.pid)
    h.log('%d scrapes by %d scrapers in %d s; RssAnon %.1f MiB before, peak %.1f, after %.1f' % (
        results['ok'], SCRAPERS, SCRAPE_SECONDS, before / 2**20, peak[0] / 2**20, after / 2**20))
    ctx.notes.append('%d scrapes; RssAnon +%.1f MiB at peak' % (results['ok'], (peak[0] - before) / 2**20))
    h.expect(not results['bad'], '%d scrapes failed: %s' % (len(results['bad']), results['bad'][:5]))
    h.expect(results['ok'] >= SCRAPERS, 'only %d scrapes in %d s' % (results['ok'], SCRAPE_SECONDS))
    h.expect(peak[0] - before < SCRAPERS_RSS_BOUND, 'RssAnon grew by %.1f MiB, bound %.0f MiB' % (
        (peak[0] - before) / 2**20, SCRAPERS_RSS_BOUND / 2**20))
    rc = h.interrupt(p)
    h.expect(rc == 0, 'exit status %s after SIGINT%s' % (rc, h.tail(p)))


VALID = b'GET /metrics HTTP/1.1\r\nHost: leaktrace\r\nAccept: */*\r\n\r\n'


def raw(port, data, timeout=3, may_wait=False, src='127.0.0.1'):
    """The status answered to raw bytes, None when the connection closed
    without one, or 'waiting' (when may_wait) if neither came within
    timeout: a request the server still waits the end of."""
    with socket.create_connection(('127.0.0.1', port), timeout=timeout, source_address=(src, 0)) as s:
        start = time.monotonic()
        try:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        got = b''
        try:
            while b'\r\n' not in got:
                chunk = s.recv(4096)
                if not chunk:
                    break
                got += chunk
        except ConnectionResetError:
            pass
        except socket.timeout:
            if may_wait and not got:
                return 'waiting'
            raise h.Fail('no answer and no close within %.1f s to %r' % (time.monotonic() - start, data[:80]))
    if got.startswith(b'HTTP/1.') and got[8:9] == b' ' and got[9:12].isdigit():
        return int(got[9:12])
    h.expect(not got, 'not an HTTP answer: %r' % got[:60])
    return None


def mutate(rng, data):
    data = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        op = rng.randrange(5)
        pos = rng.randrange(len(data) + 1)
        if op == 0 and data:
            data[min(pos, len(data) - 1)] = rng.randrange(256)
        elif op == 1:
            data[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        elif op == 2:
            del data[pos:pos + rng.randint(1, 8)]
        elif op == 3:
            data[pos:pos] = rng.choice([b'\r\n', b' ', b':', b'\x00', b'%', b'HTTP/1.0', b'Content-Length: 9\r\n',
                                        b'Transfer-Encoding: chunked\r\n', b'\r\n\r\n', b'A' * 20000])
        else:
            data = data[:pos]
    # Ended, so that most answers come at once: a request cut short
    # waits for its 10 s deadline (as serve_slow_clients checks).
    return bytes(data) + b'\r\n\r\n'


def t_serve_malformed(ctx):
    """Malformed requests and 2,000 random mutations: 4xx or closed, never a crash."""
    t, p, port = start_agent(ctx)
    fixed = [
        (b'GET /' + b'a' * 20000 + b' HTTP/1.1\r\nHost: x\r\n\r\n', (414, 431)),
        (b'GET /metrics HTTP/1.1\r\nHost: x\r\n' + b'X-Pad: y\r\n' * 2000 + b'\r\n', (431,)),
        (b'DELETE /metrics HTTP/1.1\r\nHost: x\r\n\r\n', (405,)),
        (b'PATCH /metrics HTTP/1.1\r\nHost: x\r\n\r\n', (405,)),
        (b'BREW /metrics HTTP/1.1\r\nHost: x\r\n\r\n', (405,)),
        (b'POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 1073741824\r\n\r\nxxxx', (405,)),
        (b'GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 1073741824\r\n\r\nxxxx', (413,)),
        (b'GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nbody\r\n0\r\n\r\n', (413,)),
        (b'GET /metrics HTTP/1.1\r\n\r\n', (400,)),  # HTTP/1.1 without Host
        (b'GET /metrics HTTP/9.9\r\nHost: x\r\n\r\n', (505,)),
        (b'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', (400, 405, 505)),
        (b'\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03' + b'\x00' * 64 + b'\r\n\r\n', (400, None, 'waiting')),
        # Not HTTP at all: answered, closed, or left to its deadline.
        (b'\x00' * 64 + b'\r\n\r\n', (400, None, 'waiting')),
    ]
    for data, want in fixed:
        status = raw(port, data, timeout=1, may_wait=True, src='127.0.0.5')
        h.expect(status in want, '%r...: status %s, want %s' % (data[:40], status, want))
    rng = random.Random(0x1eaf)
    seen = {}
    for i in range(2000):
        # An address each: none is refused for its address's share.
        src = '127.0.%d.%d' % (10 + i // 250, 1 + i % 250)
        status = raw(port, mutate(rng, VALID), timeout=1, may_wait=True, src=src)
        seen[status] = seen.get(status, 0) + 1
        h.expect(status in (None, 'waiting', 200, 505) or 400 <= status < 500,
                 'mutation %d: status %s' % (i, status))
        if i % 500 == 0:
            h.expect(p.poll() is None, 'leaktrace exited during the fuzz: %s%s' % (p.poll(), h.tail(p)))
    h.log('fuzz statuses: %s' % sorted(seen.items(), key=lambda kv: str(kv[0])))
    ctx.notes.append('fuzz: %s' % ', '.join('%s x%d' % kv for kv in sorted(seen.items(), key=lambda kv: str(kv[0]))))
    h.expect(len(seen) >= 3, 'the mutations reached only %s' % seen)
    text = timed_scrape(port)
    h.expect(counter(text, 'leaktrace_http_connections_refused_total', reason='per_client') == 0 and
             counter(text, 'leaktrace_http_connections_refused_total', reason='full') == 0,
             'fuzz connections refused before their request was read')
    # Requests the mutation left unfinished wait for their 10 s deadline.
    h.expect(seen.get('waiting', 0) <= 60, '%d mutations left waiting' % seen.get('waiting', 0))
    rc = h.interrupt(p)
    h.expect(rc == 0, 'exit status %s after SIGINT%s' % (rc, h.tail(p)))


SCENARIOS = [
    ('serve_slow_clients', t_serve_slow_clients),
    ('serve_many_scrapers', t_serve_many_scrapers),
    ('serve_malformed', t_serve_malformed),
]
