# SPDX-License-Identifier: MIT
"""py_fd_leak: Python code that leaves descriptors open, beside code that
closes all it opens (tests/e2e/scenarios_fds.py).

Leaves open, each made from its own marked line (the word "site", a colon
and a name, in a comment):
  open_file        FILES files DIR/leak-I.txt, open() never closed
  sqlite_connect   DBS sqlite3.connect(DIR/db-I.sqlite), never closed
  tcp_client       CLIENTS TCP sockets connected to the local server
  tcp_accept       the CLIENTS sockets the server's accept() gave for them
  popen_pipe       POPENS subprocess.Popen(..., stdout=PIPE) whose stdout
                   is never read nor closed: one pipe end each
  socketpair       PAIRS socket.socketpair(): two descriptors each
  tcp_listen       the server's listening socket (127.0.0.1:PORT)
and CHURN rounds of code that closes what it opens (with open(...), an
open() dropped at once, connections closed on both sides, sqlite closed,
subprocess.run, pipes, socketpairs, dups), half before the leaks and half
after. sockets, socketpairs and subprocess pipes are made inside the
standard library: their innermost Python line is socket.py's or
subprocess.py's, shared with the churn (which leaves nothing open there).

The truth line on stdout, JSON after "PYFDLEAK ":
  version, pid, file (this file, as code objects name it), dir, port,
  client_ports (local ports of the tcp_client sockets), accepted_ports
  (peer ports of the tcp_accept ones), pipe_inodes (of the popen_pipe
  pipes), sites {name: line}, counts {site: descriptors left open},
  before: descriptors open when "ready" was printed (wait mode).

Usage:
  python3 py_fd_leak.py run DIR [CHURN]   leak, print the truth line, exit 0
  python3 py_fd_leak.py wait DIR [CHURN]  print "ready", wait for a line on
                                          stdin, leak, print the truth line
                                          and "leaked", wait for a line
                                          "exit" (or EOF), exit 0
  python3 py_fd_leak.py serve DIR RATE    a service: make POOL connections
                                          it keeps (pool_connect), print the
                                          SERVE line and "ready", wait for a
                                          line, make FIXED connections it
                                          keeps (fixed_connect), print
                                          "going", then open RATE
                                          connections a second that it
                                          never closes (grow_connect) and
                                          as many it closes (grow_churn),
                                          until "exit" or EOF on stdin

The SERVE line, JSON after "SERVE ": version, pid, port, rate, fixed, pool,
sites, before (descriptors open then: the POOL connections among them).
"""
import json
import os
import platform
import select
import socket
import sqlite3
import subprocess
import sys
import time

from py_sites import sites

FILES, DBS, CLIENTS, POPENS, PAIRS, POOL, FIXED = 7, 2, 3, 2, 2, 5, 4
KEEP = []


def path(d, name):
    return os.path.join(d, name)


def server_socket():
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)  # site: tcp_listen
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(('127.0.0.1', 0))
    srv.listen(64)
    return srv


def leak_files(d):
    for i in range(FILES):
        KEEP.append(open(path(d, 'leak-%d.txt' % i), 'w'))  # site: open_file


def leak_sqlite(d):
    for i in range(DBS):
        KEEP.append(sqlite3.connect(path(d, 'db-%d.sqlite' % i)))  # site: sqlite_connect


def leak_tcp(srv, port):
    client_ports, accepted_ports = [], []
    for _ in range(CLIENTS):
        c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)  # site: tcp_client
        c.connect(('127.0.0.1', port))
        KEEP.append(c)
        client_ports.append(c.getsockname()[1])
    for _ in range(CLIENTS):
        conn, addr = srv.accept()  # site: tcp_accept
        KEEP.append(conn)
        accepted_ports.append(addr[1])
    return client_ports, accepted_ports


def leak_popen():
    inodes = []
    for _ in range(POPENS):
        p = subprocess.Popen(['/bin/echo', 'popen'], stdout=subprocess.PIPE)  # site: popen_pipe
        KEEP.append(p)
        inodes.append(os.fstat(p.stdout.fileno()).st_ino)
    return inodes


def leak_socketpairs():
    for _ in range(PAIRS):
        KEEP.extend(socket.socketpair())  # site: socketpair


def churn(d, srv, port, rounds, spawn):
    name = path(d, 'churn.txt')
    for i in range(rounds):
        with open(name, 'w') as f:  # site: churn_with_open
            f.write('x')
        open(name).read()  # site: churn_dropped_open
        c = socket.create_connection(('127.0.0.1', port))  # site: churn_connect
        conn, _ = srv.accept()  # site: churn_accept
        conn.close()
        c.close()
        db = sqlite3.connect(path(d, 'churn.sqlite'))  # site: churn_sqlite
        db.close()
        r, w = os.pipe()  # site: churn_pipe
        os.close(os.dup(r))  # site: churn_dup
        os.close(r)
        os.close(w)
        a, b = socket.socketpair()  # site: churn_socketpair
        a.close()
        b.close()
        if i < spawn:
            subprocess.run(['/bin/echo', 'churn'], stdout=subprocess.PIPE, check=True)  # site: churn_subprocess


def leak_all(d, churn_rounds):
    srv = server_socket()
    KEEP.append(srv)
    port = srv.getsockname()[1]
    churn(d, srv, port, churn_rounds // 2, 2)
    leak_files(d)  # site: call_leak_files
    leak_sqlite(d)  # site: call_leak_sqlite
    client_ports, accepted_ports = leak_tcp(srv, port)  # site: call_leak_tcp
    inodes = leak_popen()
    leak_socketpairs()
    churn(d, srv, port, churn_rounds - churn_rounds // 2, 1)
    return port, client_ports, accepted_ports, inodes


def open_fds():
    return len(os.listdir('/proc/self/fd')) - 1  # the listing's own


def serve(d, rate):
    srv = server_socket()
    port = srv.getsockname()[1]
    pool, fixed, grown = [], [], []
    for _ in range(POOL):
        pool.append(socket.create_connection(('127.0.0.1', port)))  # site: pool_connect
        srv.accept()[0].close()
    print('SERVE ' + json.dumps({'version': platform.python_version(), 'pid': os.getpid(),
                                 'port': port, 'rate': rate, 'fixed': FIXED, 'pool': POOL,
                                 'sites': sites(__file__), 'before': open_fds()}), flush=True)
    print('ready', flush=True)
    if not sys.stdin.readline():
        return 1
    for _ in range(FIXED):
        fixed.append(socket.create_connection(('127.0.0.1', port)))  # site: fixed_connect
        srv.accept()[0].close()
    print('going', flush=True)
    start = time.monotonic()
    while True:
        due = int((time.monotonic() - start) * rate)
        while len(grown) < due:
            grown.append(socket.create_connection(('127.0.0.1', port)))  # site: grow_connect
            srv.accept()[0].close()
            c = socket.create_connection(('127.0.0.1', port))  # site: grow_churn
            srv.accept()[0].close()
            c.close()
        ready, _, _ = select.select([sys.stdin], [], [], 0.01)
        if ready:
            line = sys.stdin.readline()
            if not line or line.strip() == 'exit':
                return 0


def main(argv):
    if len(argv) not in (3, 4) or argv[1] not in ('run', 'wait', 'serve'):
        print(__doc__, file=sys.stderr)
        return 2
    mode, d = argv[1], argv[2]
    if mode == 'serve':
        return serve(d, int(argv[3]) if len(argv) == 4 else 20)
    churn_rounds = int(argv[3]) if len(argv) == 4 else 40
    before = None
    if mode == 'wait':
        before = open_fds()
        print('ready', flush=True)
        if not sys.stdin.readline():
            return 1
    port, client_ports, accepted_ports, inodes = leak_all(d, churn_rounds)  # site: call_leak_all
    counts = {'open_file': FILES, 'sqlite_connect': DBS, 'tcp_client': CLIENTS,
              'tcp_accept': CLIENTS, 'popen_pipe': POPENS, 'socketpair': 2 * PAIRS,
              'tcp_listen': 1}
    print('PYFDLEAK ' + json.dumps({
        'version': platform.python_version(), 'pid': os.getpid(), 'file': __file__, 'dir': d,
        'port': port, 'client_ports': client_ports, 'accepted_ports': accepted_ports,
        'pipe_inodes': inodes, 'sites': sites(__file__), 'counts': counts,
        'churn': churn_rounds, 'before': before}), flush=True)
    if mode == 'wait':
        print('leaked', flush=True)
        for line in sys.stdin:
            if line.strip() == 'exit':
                break
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))  # site: call_main
