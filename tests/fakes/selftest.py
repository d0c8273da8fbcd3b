#!/usr/bin/env python3
"""Self-test of the fakes: starts each one on a free port, checks that it
answers, refuses and fails the way README.md says, and stops it.

  python3 tests/fakes/selftest.py      (exit 0 when all pass)
"""

import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
passed = 0
failed = 0


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAIL: " + what)


class Fake:
    def __init__(self, script, *args):
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, script), "--port", "0"]
            + list(args), stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().split()
        assert line and line[0] == "ready", "fake did not start"
        self.base = "http://127.0.0.1:%s" % line[1]

    def call(self, method, path, body=None, headers=None, raw=None,
             timeout=5):
        data = raw if raw is not None else (
            json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(self.base + path, data=data,
                                     method=method, headers=headers or {})
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, json.loads(r.read() or b"null"), r.headers
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null"), e.headers

    def stop(self):
        self.proc.terminate()
        rc = self.proc.wait(timeout=5)
        check(rc == 0, "fake exits 0 on SIGTERM (got %s)" % rc)


def test_n8n():
    f = Fake("n8n_fake.py")
    key = {"X-N8N-API-KEY": "n8n-test-api-key"}
    check(f.call("GET", "/api/v1/workflows")[0] == 401, "n8n: no key -> 401")
    check(f.call("GET", "/api/v1/workflows",
                 headers={"X-N8N-API-KEY": "x"})[0] == 401,
          "n8n: wrong key -> 401")
    hook = {"name": "Webhook", "type": "n8n-nodes-base.webhook",
            "typeVersion": 2, "position": [0, 0],
            "parameters": {"path": "form", "httpMethod": "POST"}}
    slack = {"name": "Slack", "type": "n8n-nodes-base.slack",
             "typeVersion": 2.2, "position": [200, 0],
             "parameters": {"text": "hi"}}
    wf = {"name": "t", "nodes": [hook, slack],
          "connections": {"Webhook": {"main": [[{"node": "Slack",
                                                  "type": "main",
                                                  "index": 0}]]}},
          "settings": {"executionOrder": "v1"}}
    s, b, _ = f.call("POST", "/api/v1/workflows", wf, key)
    check(s == 200 and b["active"] is False and b["id"], "n8n: create")
    wid = b["id"]
    for bad, why in (({**wf, "active": True}, "read-only"),
                     ({**wf, "tags": []}, "read-only"),
                     ({**wf, "extra": 1}, "additional"),
                     ({k: v for k, v in wf.items() if k != "settings"},
                      "required"),
                     ({**wf, "settings": {"bogus": 1}}, "additional"),
                     ({**wf, "nodes": [{**hook, "color": 1}, slack]},
                      "additional"),
                     ({**wf, "nodes": [hook, {**slack, "name": "Webhook"}]},
                      "unique"),
                     ({**wf, "nodes": [{k: v for k, v in hook.items()
                                        if k != "position"}, slack]},
                      "position"),
                     ({**wf, "connections": {"Nope": {}}}, "node name")):
        s, b, _ = f.call("POST", "/api/v1/workflows", bad, key)
        check(s == 400 and why in b["message"], "n8n: 400 %s (%s %s)" %
              (why, s, b))
    check(f.call("POST", "/api/v1/workflows/%s/activate" % wid, None,
                 key)[1].get("active") is True, "n8n: activate")
    s, b, _ = f.call("POST", "/api/v1/workflows", wf, key)
    s, b, _ = f.call("POST", "/api/v1/workflows/%s/activate" % b["id"], None,
                     key)
    check(s == 400 and "already taken" in b["message"],
          "n8n: webhook conflict")
    check(f.call("POST", "/webhook/form", {})[0] == 200, "n8n: webhook runs")
    manual = {**wf, "nodes": [{**hook, "type":
                               "n8n-nodes-base.manualTrigger",
                               "typeVersion": 1}, slack]}
    s, b, _ = f.call("POST", "/api/v1/workflows", manual, key)
    s, b, _ = f.call("POST", "/api/v1/workflows/%s/activate" % b["id"], None,
                     key)
    check(s == 400 and "trigger" in b["message"], "n8n: manual-only refused")
    unknown = {**wf, "nodes": [hook, {**slack, "type": "n8n-nodes-base.zap"}]}
    s, b, _ = f.call("POST", "/api/v1/workflows", unknown, key)
    s, b, _ = f.call("POST", "/api/v1/workflows/%s/activate" % b["id"], None,
                     key)
    check(s == 400 and "Unrecognized node type" in b["message"],
          "n8n: unknown type refused")
    s, b, _ = f.call("PUT", "/api/v1/workflows/%s" % wid,
                     {**wf, "name": "renamed"}, key)
    check(s == 200 and b["name"] == "renamed" and b["active"], "n8n: update")
    s, b, _ = f.call("POST", "/api/v1/credentials",
                     {"name": "s", "type": "slackApi",
                      "data": {"accessToken": "xoxb-secret"}}, key)
    check(s == 200 and "data" not in b and b["id"], "n8n: credential")
    check(f.call("DELETE", "/api/v1/credentials/%s" % b["id"], None,
                 key)[0] == 200, "n8n: delete credential")
    check(f.call("DELETE", "/api/v1/workflows/%s" % wid, None, key)[0] == 200,
          "n8n: delete")
    check(f.call("GET", "/api/v1/workflows/%s" % wid, None, key)[0] == 404,
          "n8n: deleted is 404")
    f.call("POST", "/_fake/mode", {"mode": "429", "retry_after": 7})
    s, b, h = f.call("GET", "/api/v1/workflows", None, key)
    check(s == 429 and h["Retry-After"] == "7", "n8n: 429 mode")
    check(f.call("GET", "/api/v1/workflows", None, key)[0] == 200,
          "n8n: back to ok after count")
    f.call("POST", "/_fake/mode", {"mode": "hang", "seconds": 2})
    t = time.time()
    try:
        f.call("GET", "/api/v1/workflows", None, key, timeout=0.5)
        check(False, "n8n: hang should time out")
    except OSError:
        check(time.time() - t < 2, "n8n: hang times out the client")
    s, b, _ = f.call("GET", "/_fake/requests")
    check(b["count"] >= 10 and b["requests"][0]["method"] == "GET",
          "n8n: requests recorded")
    f.stop()


def jwt(secret, claims):
    def enc(o):
        return base64.urlsafe_b64encode(json.dumps(o).encode()).rstrip(b"=")
    head = enc({"alg": "HS256", "typ": "JWT"}) + b"." + enc(claims)
    sig = hmac.new(secret.encode(), head, hashlib.sha256).digest()
    return (head + b"." + base64.urlsafe_b64encode(sig).rstrip(b"=")
            ).decode()


def test_builder():
    f = Fake("builder_fake.py", "--jwt-secret", "s3cret")
    now = int(time.time())
    good = {"Authorization": "Bearer " + jwt("s3cret", {
        "aud": "builder", "iat": now, "exp": now + 120, "sub": "canopy"})}
    for claims, secret, why in (
            ({"aud": "builder", "iat": now, "exp": now + 120}, "wrong",
             "bad signature"),
            ({"aud": "other", "iat": now, "exp": now + 120}, "s3cret",
             "audience"),
            ({"aud": "builder", "iat": now - 200, "exp": now - 10}, "s3cret",
             "expired"),
            ({"aud": "builder", "iat": now, "exp": now + 3600}, "s3cret",
             "lifetime")):
        s, b, _ = f.call("POST", "/api/projects", {}, {
            "Authorization": "Bearer " + jwt(secret, claims)})
        check(s == 401 and why in b["error"]["message"], "builder: " + why)
    s, b, _ = f.call("POST", "/api/projects", {"name": "x"}, good)
    check(s == 201 and b["projectId"] and b["url"], "builder: project")
    pid = b["projectId"]
    graph = {"name": "g", "nodes": [{"id": "a", "type": "webhook"}],
             "edges": [], "triggers": []}
    check(f.call("POST", "/api/projects/%s/run" % pid, {}, good)[0] == 409,
          "builder: run without workflow")
    check(f.call("POST", "/api/projects/%s/workflows" % pid, graph,
                 good)[0] == 201, "builder: workflow")
    check(f.call("POST", "/api/projects/%s/workflows" % pid,
                 {"nodes": 1}, good)[0] == 422, "builder: bad graph")
    check(f.call("POST", "/api/projects/%s/run" % pid, {}, good)[0] == 202,
          "builder: run")
    idem = dict(good, **{"Idempotency-Key": "k1"})
    a = f.call("POST", "/api/projects", {}, idem)[1]["projectId"]
    b2 = f.call("POST", "/api/projects", {}, idem)[1]["projectId"]
    check(a == b2, "builder: idempotency key")
    f.stop()


def test_openai():
    f = Fake("openai_fake.py")
    key = {"Authorization": "Bearer sk-test-canopy-0123456789"}
    schema = {"type": "object", "properties": {"a": {"type": "string"}},
              "required": ["a"], "additionalProperties": False}
    req = {"model": "gpt-4.1-mini", "instructions": "sys", "input": "hi",
           "store": False, "text": {"format": {
               "type": "json_schema", "name": "wf", "strict": True,
               "schema": schema}}}
    s, b, _ = f.call("POST", "/v1/responses", req, key)
    msg = [o for o in b["output"] if o["type"] == "message"][0]
    check(s == 200 and json.loads(msg["content"][0]["text"])["name"],
          "openai: ok")
    check("output_text" not in b, "openai: no top-level output_text")
    loose = dict(schema, additionalProperties=True)
    s, b, _ = f.call("POST", "/v1/responses", {**req, "text": {"format": {
        **req["text"]["format"], "schema": loose}}}, key)
    check(s == 400 and b["error"]["code"] == "invalid_json_schema",
          "openai: non-strict schema refused")
    s, b, _ = f.call("POST", "/v1/responses",
                     {**req, "model": "gpt-5-mini", "temperature": 0.2}, key)
    check(s == 400 and b["error"]["code"] == "unsupported_parameter",
          "openai: temperature refused for reasoning models")
    check(f.call("POST", "/v1/responses", {**req, "store": True},
                 key)[0] == 400, "openai: store must be false")
    f.call("POST", "/_fake/mode", {"mode": "refusal"})
    s, b, _ = f.call("POST", "/v1/responses", req, key)
    msg = [o for o in b["output"] if o["type"] == "message"][0]
    check(msg["content"][0]["type"] == "refusal", "openai: refusal")
    f.call("POST", "/_fake/mode", {"mode": "incomplete"})
    s, b, _ = f.call("POST", "/v1/responses", req, key)
    check(b["status"] == "incomplete" and
          b["incomplete_details"]["reason"] == "max_output_tokens",
          "openai: incomplete")
    f.stop()


def main():
    for t in (test_n8n, test_builder, test_openai):
        try:
            t()
        except Exception as e:  # a crash is a failure, not a stop
            check(False, "%s crashed: %r" % (t.__name__, e))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
