# SPDX-License-Identifier: MIT
"""--serve with --web-config: TLS, basic auth and client certificates, as
Prometheus exporters configure them, scraped by a real Prometheus.

Certificates are made for each scenario with openssl (a CA, a server
certificate for IP 127.0.0.1, a client certificate, and a second CA that
signed nothing leaktrace trusts); passwords are hashed with the system's
crypt (bcrypt, $2b$). Everything listens on loopback.

serve_tls_auth: Prometheus scrapes over TLS with the right user and
password and reads the leak's exact bytes; the same target without
credentials, and with a wrong password, is down with 401. Direct requests
check the challenge, the configured security header, plain HTTP refused,
min_version honoured, and the refusals counted in /metrics.

serve_mtls: RequireAndVerifyClientCert: Prometheus with the client
certificate is up, without it down; clients without a certificate, or with
one from the other CA, fail in the handshake; with it they are answered.

err_web_config: a bad or unreadable configuration is refused at start with
one line naming the file and the field, and leaves nothing behind.
"""

import os
import re
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
import warnings

import __main__ as h
import scenarios_serve as serve

USER, PASSWORD = 'prometheus', 'c0rrect horse'


def openssl(*args, cwd):
    r = subprocess.run(['openssl'] + list(args), cwd=cwd, capture_output=True, text=True, timeout=60)
    h.expect(r.returncode == 0, 'openssl %s: %s' % (' '.join(args[:2]), r.stderr.strip()[-300:]))


def make_pki(d):
    """CA, server (IP:127.0.0.1) and client certificates in d, and an
    unrelated CA with its own client certificate."""
    ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
    for ca in ('ca', 'other_ca'):
        openssl('req', '-x509', *ec, '-days', '2', '-subj', '/CN=leaktrace test %s' % ca,
                '-keyout', ca + '.key', '-out', ca + '.crt', cwd=d)
    for name, ca, ext in (('server', 'ca', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n'),
                          ('client', 'ca', 'extendedKeyUsage=clientAuth\n'),
                          ('stranger', 'other_ca', 'extendedKeyUsage=clientAuth\n')):
        with open(os.path.join(d, name + '.ext'), 'w') as f:
            f.write(ext)
        openssl('req', *ec, '-subj', '/CN=%s' % name, '-keyout', name + '.key', '-out', name + '.csr', cwd=d)
        openssl('x509', '-req', '-in', name + '.csr', '-CA', ca + '.crt', '-CAkey', ca + '.key',
                '-CAcreateserial', '-days', '2', '-extfile', name + '.ext', '-out', name + '.crt', cwd=d)
    return d


def bcrypt(password):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', DeprecationWarning)
        import crypt
    salt = crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1 << 10)
    hashed = crypt.crypt(password, salt)
    h.expect(hashed and hashed.startswith('$2b$10$'), 'crypt gave no bcrypt hash: %r' % hashed)
    return hashed


def write(d, name, text):
    path = os.path.join(d, name)
    with open(path, 'w') as f:
        f.write(text)
    return path


def start_secure(ctx, config, port):
    """leaktrace -p on a waiting leaky with --serve and --web-config."""
    t = h.start_waiting_leaky(ctx)
    p = h.attach_pid(ctx, ['-T', '0', '-p', str(t.pid), '--serve', '127.0.0.1:%d' % port,
                           '--web-config', config, '1'])
    return t, p


def context(d, cert=None, max_version=None):
    ctx = ssl.create_default_context(cafile=os.path.join(d, 'ca.crt'))
    if cert:
        ctx.load_cert_chain(os.path.join(d, cert + '.crt'), os.path.join(d, cert + '.key'))
    if max_version:
        ctx.maximum_version = max_version
    return ctx


def https(port, d, path='/metrics', auth=None, cert=None, max_version=None):
    """(status, headers, body); a failed handshake raises."""
    headers = {}
    if auth:
        import base64
        headers['Authorization'] = 'Basic ' + base64.b64encode(('%s:%s' % auth).encode()).decode()
    req = urllib.request.Request('https://127.0.0.1:%d%s' % (port, path), headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10, context=context(d, cert, max_version)) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def handshake_fails(port, d, cert=None, max_version=None):
    """True when the TLS connection, or its first request, is refused by the
    server (TLS 1.3 reports a refused client certificate after the
    handshake, at the first read)."""
    try:
        https(port, d, cert=cert, max_version=max_version)
    except (ssl.SSLError, ConnectionResetError, urllib.error.URLError) as e:
        h.log('refused as expected: %s' % e)
        return True
    return False


def job(name, port, d, auth=None, cert=None):
    text = ('  - job_name: %s\n'
            '    scheme: https\n'
            '    tls_config:\n'
            '      ca_file: %s\n' % (name, os.path.join(d, 'ca.crt')))
    if cert:
        text += ('      cert_file: %s\n'
                 '      key_file: %s\n' % (os.path.join(d, cert + '.crt'), os.path.join(d, cert + '.key')))
    if auth:
        text += ('    basic_auth:\n'
                 '      username: %s\n'
                 "      password: '%s'\n" % auth)
    return text + ("    static_configs:\n"
                   "      - targets: ['127.0.0.1:%d']\n" % port)


def target_errors(prom):
    """{job: lastError} of Prometheus's active targets."""
    import json
    targets = json.loads(serve.http(prom.api + '/api/v1/targets')[2])['data']['activeTargets']
    return {t['labels']['job']: (t['health'], t['lastError']) for t in targets}


def wait_target(prom, job_name, health, error_re, timeout=30):
    deadline = time.monotonic() + timeout
    got = None
    while time.monotonic() < deadline:
        got = target_errors(prom).get(job_name)
        if got and got[0] == health and re.search(error_re, got[1] or ''):
            return
        time.sleep(0.5)
    raise h.Fail('prometheus target %s: %s, want %s with error matching %r' % (job_name, got, health, error_re))


def t_serve_tls_auth(ctx):
    """--web-config with TLS and a bcrypt user: Prometheus scrapes with credentials, 401 without."""
    d = make_pki(ctx.tmpdir())
    config = write(d, 'web.yml',
                   'tls_server_config:\n'
                   '  cert_file: server.crt\n'   # relative: from the file's folder
                   '  key_file: server.key\n'
                   '  min_version: TLS13\n'
                   'http_server_config:\n'
                   '  headers:\n'
                   '    Strict-Transport-Security: max-age=31536000\n'
                   'basic_auth_users:\n'
                   "  %s: '%s'\n" % (USER, bcrypt(PASSWORD)))
    port = serve.free_port()
    prom = serve.start_prometheus(ctx, port, job('secure', port, d, auth=(USER, PASSWORD)) +
                                  job('nocreds', port, d) +
                                  job('wrongpass', port, d, auth=(USER, 'guess')))
    try:
        t, p = start_secure(ctx, config, port)
        want = 'leaktrace: serving https://127.0.0.1:%d/metrics and /debug/pprof/heap (basic auth)' % port
        h.expect(any(line.strip() == want for line in p.err_lines), 'no "%s" on stderr%s' % (want, h.tail(p)))
        h.trigger(t)
        sel = 'pid="%d",job="secure"' % t.pid
        serve.wait_prom_value(prom, 'leaktrace_process_outstanding_bytes{%s}' % sel, h.LEAKY_TOTAL_BYTES)
        serve.wait_prom_value(prom, 'up{job="secure"}', 1)
        serve.wait_prom_value(prom, 'up{job="nocreds"}', 0)
        serve.wait_prom_value(prom, 'up{job="wrongpass"}', 0)
        wait_target(prom, 'nocreds', 'down', r'401')
        wait_target(prom, 'wrongpass', 'down', r'401')

        status, hdrs, _ = https(port, d)
        h.expect(status == 401, 'no credentials: status %d' % status)
        h.expect(hdrs['WWW-Authenticate'] == 'Basic realm="leaktrace"',
                 'challenge %r' % hdrs['WWW-Authenticate'])
        status, _, _ = https(port, d, auth=(USER, 'nope'))
        h.expect(status == 401, 'wrong password: status %d' % status)
        status, _, _ = https(port, d, auth=('nobody', PASSWORD))
        h.expect(status == 401, 'unknown user: status %d' % status)
        status, hdrs, body = https(port, d, auth=(USER, PASSWORD))
        h.expect(status == 200, 'right credentials: status %d' % status)
        h.expect(hdrs['Strict-Transport-Security'] == 'max-age=31536000',
                 'configured header: %r' % hdrs['Strict-Transport-Security'])
        text = body.decode()
        h.expect(serve.metric_value(text, 'leaktrace_process_outstanding_bytes', pid=t.pid) ==
                 h.LEAKY_TOTAL_BYTES, 'outstanding bytes over TLS')
        refused = serve.metric_value(text, 'leaktrace_http_requests_refused_total', reason='unauthorized')
        h.expect(refused >= 5, '%d unauthorized requests counted, made at least 5' % refused)
        status, _, _ = https(port, d, path='/debug/pprof/heap', auth=(USER, PASSWORD))
        h.expect(status == 200, '/debug/pprof/heap with credentials: status %d' % status)

        # TLS only: plain HTTP gets no answer; TLS 1.2 is below min_version.
        try:
            status = serve.raw_status(port, b'GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n')
        except OSError:
            status = None
        h.expect(status is None, 'plain HTTP on the TLS port answered %s' % status)
        h.expect(handshake_fails(port, d, max_version=ssl.TLSVersion.TLSv1_2),
                 'a TLS 1.2 client was let in with min_version TLS13')

        rc = h.interrupt(p)
        h.expect(rc == 0, 'exit status %s after SIGINT%s' % (rc, h.tail(p)))
        h.expect(serve.port_closed('127.0.0.1', port), 'port %d still open after leaktrace exited' % port)
    finally:
        serve.stop_prometheus(prom)


def t_serve_mtls(ctx):
    """--web-config RequireAndVerifyClientCert: only clients with a certificate from client_ca_file get in."""
    d = make_pki(ctx.tmpdir())
    config = write(d, 'web.yml',
                   'tls_server_config:\n'
                   '  cert_file: %s\n'
                   '  key_file: %s\n'
                   '  client_ca_file: ca.crt\n'
                   '  client_auth_type: RequireAndVerifyClientCert\n' % (
                       os.path.join(d, 'server.crt'), os.path.join(d, 'server.key')))
    port = serve.free_port()
    prom = serve.start_prometheus(ctx, port, job('withcert', port, d, cert='client') +
                                  job('nocert', port, d) + job('stranger', port, d, cert='stranger'))
    try:
        t, p = start_secure(ctx, config, port)
        h.trigger(t)
        serve.wait_prom_value(prom, 'leaktrace_process_outstanding_bytes{pid="%d",job="withcert"}' % t.pid,
                              h.LEAKY_TOTAL_BYTES)
        serve.wait_prom_value(prom, 'up{job="nocert"}', 0)
        serve.wait_prom_value(prom, 'up{job="stranger"}', 0)
        h.expect(handshake_fails(port, d), 'a client without a certificate was answered')
        h.expect(handshake_fails(port, d, cert='stranger'), 'a certificate from another CA was accepted')
        status, _, body = https(port, d, cert='client')
        h.expect(status == 200 and b'leaktrace_build_info' in body,
                 'client certificate from client_ca_file: status %d' % status)
        rc = h.interrupt(p)
        h.expect(rc == 0, 'exit status %s after SIGINT%s' % (rc, h.tail(p)))
    finally:
        serve.stop_prometheus(prom)


def t_err_web_config(ctx):
    """Bad --web-config files: one line naming the file and the field, exit 1, nothing left listening."""
    d = make_pki(ctx.tmpdir())
    good_hash = bcrypt(PASSWORD)
    cases = [
        # (file text, what the one line must hold)
        ('tls_server_config:\n  cert_file: server.crt\n', r'tls_server_config\.key_file: missing'),
        ('tls_server_config:\n  cert_file: nope.crt\n  key_file: server.key\n',
         r'tls_server_config\.cert_file: cannot read .*/nope\.crt: No such file'),
        ('tls_server_config:\n  cert_file: server.crt\n  key_file: client.key\n',
         r'tls_server_config\.cert_file/key_file: .*server\.crt and .*client\.key'),
        ('tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n'
         '  client_auth_type: RequireAndVerifyClientCert\n',
         r'tls_server_config\.client_ca_file: required by client_auth_type RequireAndVerifyClientCert'),
        ('tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n'
         '  client_ca_file: web.yml\n  client_auth_type: VerifyClientCertIfGiven\n',
         r'tls_server_config\.client_ca_file: .*web\.yml: no PEM certificate'),
        ('tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: Always\n',
         r':4: tls_server_config\.client_auth_type: "Always" is not one of'),
        ('tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  min_version: TLS14\n',
         r'tls_server_config\.min_version: "TLS14" is not one of'),
        ('tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  cipher_suites: [x]\n',
         r'tls_server_config\.cipher_suites: not supported by leaktrace'),
        ("basic_auth_users:\n  admin: 'secret'\n", r'basic_auth_users\.admin: not a bcrypt hash'),
        ("basic_auth_users:\n  admin: '%s'\n  admin: '%s'\n" % (good_hash, good_hash),
         r'basic_auth_users\.admin: given twice'),
        ('tls_server_confg:\n  cert_file: server.crt\n', r':1: tls_server_confg: unknown field'),
        ('tls_server_config: [\n', r'web\.yml:\d+: not YAML'),
    ]
    for text, want in cases:
        config = write(d, 'web.yml', text)
        port = serve.free_port()
        e = h.error_run(ctx, ['--serve', '127.0.0.1:%d' % port, '--web-config', config, '-c', '/bin/true'])
        line = e.err_lines[0]
        h.expect(e.popen.returncode == 1, '%r: exit status %s' % (text, e.popen.returncode))
        h.expect(line.startswith('leaktrace: --web-config: ' + config), '%r: %r does not name the file' % (text, line))
        h.expect(re.search(want, line), '%r: %r does not match %r' % (text, line, want))
        h.expect(serve.port_closed('127.0.0.1', port), 'port %d left open' % port)
    missing = os.path.join(d, 'absent.yml')
    e = h.error_run(ctx, ['--serve', '9', '--web-config', missing, '-c', '/bin/true'])
    h.expect(e.err_lines[0] == 'leaktrace: --web-config: %s: No such file or directory' % missing,
             'missing file: %r' % e.err_lines[0])
    e = h.error_run(ctx, ['--web-config', config, '-c', '/bin/true'])
    h.expect('--web-config is for --serve' in e.err_lines[0], 'without --serve: %r' % e.err_lines[0])


SCENARIOS = [
    ('serve_tls_auth', t_serve_tls_auth),
    ('serve_mtls', t_serve_mtls),
    ('err_web_config', t_err_web_config),
]
