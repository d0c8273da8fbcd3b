"""Shared plumbing for Canopy's fake external services.

Each fake (openai_fake.py, n8n_fake.py, builder_fake.py) is a small HTTP
server on 127.0.0.1 built on http.server.  This module gives them the same
command line, the same control and inspection endpoints and the same
failure modes, so a test drives every fake the same way:

  POST /_fake/mode      {"mode": "429", "count": 1, "retry_after": 2}
  GET  /_fake/requests  everything received (method, path, headers, body)
  POST /_fake/reset     forget requests, modes and (per fake) state
  GET  /_fake/health    200 {"ok": true}

Standard library only: the fakes run wherever python3 does.
"""

import argparse
import email.utils
import json
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit, parse_qs

# Sleeps are bounded so a forgotten "hang" never outlives a test run.
MAX_HANG_SECONDS = 30.0
MAX_REQUESTS_KEPT = 1000
MAX_BODY_BYTES = 16 * 1024 * 1024

COMMON_MODES = {"ok", "hang", "truncated", "malformed", "large"}


def now_iso():
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%03dZ" % (
        int(t * 1000) % 1000)


class Failure:
    """One queued failure: what to do instead of answering normally."""

    def __init__(self, spec):
        self.mode = str(spec.get("mode", "ok"))
        self.count = int(spec.get("count", 1))
        self.retry_after = spec.get("retry_after", 1)
        self.retry_after_date = bool(spec.get("retry_after_date", False))
        self.seconds = min(float(spec.get("seconds", MAX_HANG_SECONDS)),
                           MAX_HANG_SECONDS)
        self.size = int(spec.get("size", 5 * 1024 * 1024))
        self.path = spec.get("path")  # only requests whose path starts so
        self.method = spec.get("method")


class FakeState:
    """Requests seen and failures queued, shared by all handler threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.requests = []
        self.failures = []
        self.total_requests = 0

    def record(self, entry):
        with self.lock:
            self.total_requests += 1
            self.requests.append(entry)
            if len(self.requests) > MAX_REQUESTS_KEPT:
                del self.requests[0]

    def set_mode(self, spec, valid_modes):
        f = Failure(spec)
        if f.mode not in valid_modes and not is_status_mode(f.mode):
            raise ValueError("unknown mode %r; known: %s" %
                             (f.mode, ", ".join(sorted(valid_modes))))
        with self.lock:
            if f.mode == "ok":
                self.failures = []
            elif f.count != 0:
                self.failures.append(f)

    def take_failure(self, method, path):
        """The failure that applies to this request, consuming one use."""
        with self.lock:
            for f in self.failures:
                if f.path and not path.startswith(f.path):
                    continue
                if f.method and f.method.upper() != method:
                    continue
                if f.count != 0:  # a negative count means "until reset"
                    if f.count > 0:
                        f.count -= 1
                    if f.count == 0:
                        self.failures.remove(f)
                    return f
            return None

    def reset(self):
        with self.lock:
            self.requests = []
            self.failures = []


def is_status_mode(mode):
    return len(mode) == 3 and mode.isdigit() and mode[0] in "45"


def http_date(seconds_from_now):
    return email.utils.formatdate(time.time() + seconds_from_now,
                                  usegmt=True)


class FakeHandler(BaseHTTPRequestHandler):
    """Base handler: parses the request, serves /_fake/*, applies failures.

    Subclasses set `modes` (extra failure mode names), and implement
    route(method, path, query, body) returning (status, obj, headers) or
    None for 404, plus fail(failure) for service-specific failure shapes.
    """

    protocol_version = "HTTP/1.1"
    server_version = "canopy-fake/1.0"
    modes = set()

    # -- plumbing ---------------------------------------------------------
    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("%s: %s\n" % (self.server.fake_name, fmt % args))

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_PUT(self):
        self.handle_any("PUT")

    def do_PATCH(self):
        self.handle_any("PATCH")

    def do_DELETE(self):
        self.handle_any("DELETE")

    def read_body(self):
        n = self.headers.get("Content-Length")
        if n is None:
            return b""
        n = int(n)
        if n > MAX_BODY_BYTES:
            raise ValueError("body too large")
        return self.rfile.read(n) if n > 0 else b""

    def send_json(self, status, obj, headers=None, raw=None):
        data = raw if raw is not None else json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, str(v))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def handle_any(self, method):
        parts = urlsplit(self.path)
        path, query = parts.path, parse_qs(parts.query)
        try:
            raw = self.read_body()
        except ValueError:
            self.send_json(413, {"message": "request entity too large"})
            return
        body = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
        try:
            if path.startswith("/_fake/"):
                self.control(method, path, query, raw, body)
                return
            self.server.state.record({
                "method": method,
                "path": self.path,
                "headers": {k: v for k, v in self.headers.items()},
                "body": body,
                "raw": None if body is not None else
                raw[:65536].decode("utf-8", "replace"),
                "time": time.time(),
            })
            f = self.server.state.take_failure(method, path)
            if f is not None and self.apply_failure(f):
                return
            with self.server.data_lock:
                result = self.route(method, path, query, raw, body)
            if result is None:
                self.not_found(method, path)
                return
            status, obj, headers = result
            self.send_json(status, obj, headers)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def control(self, method, path, query, raw, body):
        st = self.server.state
        if path == "/_fake/health":
            self.send_json(200, {"ok": True, "name": self.server.fake_name})
        elif path == "/_fake/requests" and method == "GET":
            with st.lock:
                reqs = list(st.requests)
            self.send_json(200, {"requests": reqs, "count": len(reqs)})
        elif path == "/_fake/requests" and method == "DELETE":
            with st.lock:
                st.requests = []
            self.send_json(200, {"ok": True})
        elif path == "/_fake/mode" and method == "POST":
            if not isinstance(body, dict):
                self.send_json(400, {"error": "body must be a JSON object"})
                return
            try:
                st.set_mode(body, COMMON_MODES | self.modes)
            except (ValueError, TypeError) as e:
                self.send_json(400, {"error": str(e)})
                return
            self.send_json(200, {"ok": True})
        elif path == "/_fake/reset" and method == "POST":
            st.reset()
            with self.server.data_lock:
                self.reset_data()
            self.send_json(200, {"ok": True})
        else:
            try:
                handled = self.extra_control(method, path, query, raw, body)
            except ValueError as e:
                self.send_json(400, {"error": str(e)})
                return
            if not handled:
                self.send_json(404, {"error": "no such control endpoint"})

    # -- failures ---------------------------------------------------------
    def apply_failure(self, f):
        """Answers with failure f; False when the fake should answer
        normally after all (a service-specific mode handled in route)."""
        if f.mode == "hang":
            # Hold the connection open, then give up without answering: the
            # client's timeout must fire first.
            deadline = time.time() + f.seconds
            while time.time() < deadline and not self.server.stopping:
                time.sleep(0.05)
            self.close_connection = True
            return True
        if f.mode == "truncated":
            data = json.dumps(self.sample_body()).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            return True
        if f.mode == "malformed":
            data = json.dumps(self.sample_body()).encode()
            self.send_json(200, None, raw=data[: len(data) // 2])
            return True
        if f.mode == "large":
            chunk = b'{"pad": "' + b"x" * max(0, f.size - 11) + b'"}'
            self.send_json(200, None, raw=chunk)
            return True
        if is_status_mode(f.mode):
            status = int(f.mode)
            headers = {}
            if status in (429, 503) and f.retry_after is not None:
                headers["Retry-After"] = (http_date(float(f.retry_after))
                                          if f.retry_after_date
                                          else str(f.retry_after))
            status, obj, extra = self.error_for(status, f)
            headers.update(extra)
            self.send_json(status, obj, headers)
            return True
        return self.fail(f)

    def sample_body(self):
        return {"message": "this body was cut short on purpose", "pad": [
            i for i in range(64)]}

    # -- for subclasses ---------------------------------------------------
    def error_for(self, status, failure):
        return status, {"message": "fake error %d" % status}, {}

    def fail(self, failure):
        return False

    def not_found(self, method, path):
        self.send_json(404, {"message": "not found"})

    def route(self, method, path, query, raw, body):
        return None

    def extra_control(self, method, path, query, raw, body):
        return False

    def reset_data(self):
        pass


class QuietServer(ThreadingHTTPServer):
    """Clients that give up (timeouts, size caps) reset connections: that
    is expected here, not worth a traceback."""

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


def base_args(description):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--port", type=int, default=0,
                   help="port on 127.0.0.1 (0: pick a free one)")
    p.add_argument("--state-dir", default=None,
                   help="directory where the fake keeps state across runs")
    p.add_argument("--verbose", action="store_true",
                   help="log each request on stderr")
    return p


def serve(handler_cls, name, args, setup=None):
    """Binds 127.0.0.1:port, prints "ready <port>" on stdout, serves until
    SIGTERM or SIGINT, then exits 0."""
    server = QuietServer(("127.0.0.1", args.port), handler_cls)
    server.daemon_threads = True
    server.fake_name = name
    server.verbose = args.verbose
    server.state = FakeState()
    server.data_lock = threading.RLock()
    server.stopping = False
    server.args = args
    server.base_url = "http://127.0.0.1:%d" % server.server_address[1]
    if args.state_dir:
        os.makedirs(args.state_dir, exist_ok=True)
    if setup:
        setup(server)

    def stop(signum, frame):
        server.stopping = True
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if args.state_dir:
        with open(os.path.join(args.state_dir, name + ".port"), "w") as fh:
            fh.write("%d\n" % server.server_address[1])
    sys.stdout.write("ready %d\n" % server.server_address[1])
    sys.stdout.flush()
    try:
        server.serve_forever(poll_interval=0.1)
    finally:
        server.server_close()
    return 0


def save_json(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w") as fh:
        json.dump(obj, fh)
    os.replace(tmp, path)


def load_json(path, default):
    try:
        with open(path) as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return default
