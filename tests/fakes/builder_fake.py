#!/usr/bin/env python3
"""A fake of the generic builder API for Canopy's tests.

  POST /api/projects                 -> 201 {projectId, url}
  POST /api/projects/:id/workflows   (our workflow graph) -> 201
  POST /api/projects/:id/run         -> 202 {runId, status, url}
  GET  /api/projects/:id             -> the project, its workflows and runs

Every call needs Authorization: Bearer <HS256 JWT> signed with the shared
secret, aud "builder", exp in the future and a lifetime of at most five
minutes.  See README.md for the failure modes.

  python3 tests/fakes/builder_fake.py --port 0 --jwt-secret S [--state-dir D]
"""

import base64
import hashlib
import hmac
import json
import os
import sys
import time
import uuid

# No __pycache__ in the source tree.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fakelib  # noqa: E402

MAX_LIFETIME = 300  # seconds: a service token must be short-lived
CLOCK_SKEW = 30


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def jwt_problem(token, secret):
    """Why token is not acceptable, or None."""
    parts = token.split(".")
    if len(parts) != 3:
        return "malformed token"
    try:
        header = json.loads(b64url_decode(parts[0]))
        payload = json.loads(b64url_decode(parts[1]))
        sig = b64url_decode(parts[2])
    except (ValueError, TypeError):
        return "malformed token"
    if not isinstance(header, dict) or header.get("alg") != "HS256":
        return "unsupported alg (HS256 required)"
    want = hmac.new(secret.encode(), (parts[0] + "." + parts[1]).encode(),
                    hashlib.sha256).digest()
    if not hmac.compare_digest(sig, want):
        return "bad signature"
    if not isinstance(payload, dict):
        return "malformed claims"
    aud = payload.get("aud")
    if not (aud == "builder" or (isinstance(aud, list) and "builder" in aud)):
        return "wrong audience"
    now = time.time()
    exp = payload.get("exp")
    if not isinstance(exp, (int, float)) or isinstance(exp, bool):
        return "exp claim required"
    if exp <= now:
        return "token expired"
    iat = payload.get("iat")
    start = iat if isinstance(iat, (int, float)) else now
    if isinstance(iat, (int, float)) and iat > now + CLOCK_SKEW:
        return "token issued in the future"
    if exp - start > MAX_LIFETIME + CLOCK_SKEW:
        return "token lifetime exceeds %d s" % MAX_LIFETIME
    return None


def graph_problem(g):
    """A light shape check of Canopy's workflow graph: the real builder
    would refuse anything that is not one."""
    if not isinstance(g, dict):
        return "body must be a workflow graph object"
    for k, t in (("name", str), ("nodes", list), ("edges", list),
                 ("triggers", list)):
        if not isinstance(g.get(k), t):
            return "graph.%s is missing or of the wrong type" % k
    ids = set()
    for i, n in enumerate(g["nodes"]):
        if not isinstance(n, dict) or not isinstance(n.get("id"), str) or \
                not isinstance(n.get("type"), str):
            return "graph.nodes[%d] needs an id and a type" % i
        if n["id"] in ids:
            return "graph.nodes[%d]: duplicate id '%s'" % (i, n["id"])
        ids.add(n["id"])
    # Canopy graphs give triggers ids in the same space as nodes, and
    # edges start at them.
    for t in g["triggers"]:
        if isinstance(t, dict) and isinstance(t.get("id"), str):
            ids.add(t["id"])
    for i, e in enumerate(g["edges"]):
        if not isinstance(e, dict) or e.get("fromNodeId") not in ids or \
                e.get("toNodeId") not in ids:
            return "graph.edges[%d] names a node that does not exist" % i
    return None


def err(status, code, message):
    return status, {"error": {"code": code, "message": message}}, {}


class Handler(fakelib.FakeHandler):
    modes = set()

    def sample_body(self):
        return {"projectId": "p_cut", "url": "http://127.0.0.1/cut"}

    def error_for(self, status, f):
        codes = {401: "unauthorized", 403: "forbidden", 404: "not_found",
                 409: "conflict", 429: "rate_limited", 500: "internal",
                 502: "bad_gateway", 503: "unavailable"}
        code = codes.get(status, "error")
        return err(status, code, "fake %s (%d)" % (code, status))

    def not_found(self, method, path):
        self.send_json(404, {"error": {"code": "not_found",
                                       "message": "no route %s %s"
                                       % (method, path)}})

    @property
    def db(self):
        return self.server.db

    def save(self):
        if self.server.args.state_dir:
            fakelib.save_json(os.path.join(self.server.args.state_dir,
                                           "builder_state.json"), self.db)

    def reset_data(self):
        self.db.clear()
        self.db.update({"projects": {}, "idempotency": {}})
        self.save()

    def extra_control(self, method, path, query, raw, body):
        if path == "/_fake/state" and method == "GET":
            self.send_json(200, self.db)
            return True
        return False

    def route(self, method, path, query, raw, body):
        if not path.startswith("/api/"):
            return None
        auth = self.headers.get("Authorization") or ""
        if not auth.startswith("Bearer "):
            return err(401, "unauthorized", "bearer token required")
        problem = jwt_problem(auth[7:].strip(), self.server.args.jwt_secret)
        if problem:
            return err(401, "unauthorized", problem)
        if method == "POST" and raw and body is None:
            return err(400, "invalid_json", "body is not valid JSON")
        parts = [p for p in path[len("/api/"):].split("/") if p]
        if parts == ["projects"] and method == "POST":
            return self.create_project(body)
        if len(parts) >= 2 and parts[0] == "projects":
            proj = self.db["projects"].get(parts[1])
            if proj is None:
                return err(404, "not_found", "no project %s" % parts[1])
            if len(parts) == 2 and method == "GET":
                return 200, proj, {}
            if parts[2:] == ["workflows"] and method == "POST":
                return self.add_workflow(proj, body)
            if parts[2:] == ["run"] and method == "POST":
                return self.run(proj, body)
        return None

    def idempotent(self, key_suffix):
        key = self.headers.get("Idempotency-Key")
        return key + "|" + key_suffix if key else None

    def create_project(self, body):
        if body is not None and not isinstance(body, dict):
            return err(400, "invalid", "body must be an object")
        ikey = self.idempotent("projects")
        if ikey and ikey in self.db["idempotency"]:
            pid = self.db["idempotency"][ikey]
            p = self.db["projects"][pid]
            return 200, {"projectId": pid, "url": p["url"]}, {}
        pid = "prj_" + uuid.uuid4().hex[:12]
        proj = {"projectId": pid, "url": "%s/p/%s" % (self.server.base_url,
                                                      pid),
                "name": (body or {}).get("name"), "workflows": [],
                "runs": [], "createdAt": fakelib.now_iso()}
        self.db["projects"][pid] = proj
        if ikey:
            self.db["idempotency"][ikey] = pid
        self.save()
        return 201, {"projectId": pid, "url": proj["url"]}, {}

    def add_workflow(self, proj, body):
        problem = graph_problem(body)
        if problem:
            return err(422, "invalid_graph", problem)
        ikey = self.idempotent(proj["projectId"] + "/workflows")
        if ikey and ikey in self.db["idempotency"]:
            wid = self.db["idempotency"][ikey]
            w = next(w for w in proj["workflows"] if w["workflowId"] == wid)
            return 200, {"workflowId": wid, "projectId": proj["projectId"],
                         "version": w["version"]}, {}
        wid = "wf_" + uuid.uuid4().hex[:12]
        version = len(proj["workflows"]) + 1
        proj["workflows"].append({"workflowId": wid, "version": version,
                                  "graph": body,
                                  "createdAt": fakelib.now_iso()})
        if ikey:
            self.db["idempotency"][ikey] = wid
        self.save()
        return 201, {"workflowId": wid, "projectId": proj["projectId"],
                     "version": version}, {}

    def run(self, proj, body):
        if not proj["workflows"]:
            return err(409, "conflict", "project has no workflow to run")
        rid = "run_" + uuid.uuid4().hex[:12]
        run = {"runId": rid, "status": "running",
               "workflowId": proj["workflows"][-1]["workflowId"],
               "url": "%s/run/%s" % (proj["url"], rid),
               "startedAt": fakelib.now_iso()}
        proj["runs"].append(run)
        self.save()
        return 202, run, {}


def main():
    p = fakelib.base_args(__doc__.splitlines()[0])
    p.add_argument("--jwt-secret", default=os.environ.get("FAKE_JWT_SECRET"),
                   help="shared HS256 secret (required)")
    args = p.parse_args()
    if not args.jwt_secret:
        p.error("--jwt-secret is required")

    def setup(srv):
        db = {"projects": {}, "idempotency": {}}
        if args.state_dir:
            db = fakelib.load_json(os.path.join(args.state_dir,
                                                "builder_state.json"), db)
        srv.db = db

    return fakelib.serve(Handler, "builder", args, setup)


if __name__ == "__main__":
    sys.exit(main())
