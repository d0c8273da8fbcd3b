#!/usr/bin/env python3
"""A fake of n8n 2.x's public REST API (/api/v1) for Canopy's tests.

As strict as n8n is: the request bodies are checked against the public
API's OpenAPI schemas (required name/nodes/connections/settings; read-only
fields and unknown keys at the top level, in settings or on a node are a
400), plus the checks n8n makes on activation (known node types, a trigger
that is not only manual, no two active webhooks on one method and path).
See README.md for the endpoints and failure modes.

  python3 tests/fakes/n8n_fake.py --port 0 [--api-key K] [--state-dir D]
"""

import os
import random
import string
import sys
import uuid

# No __pycache__ in the source tree.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fakelib  # noqa: E402

DEFAULT_KEY = "n8n-test-api-key"

# Writable top-level keys of a workflow (workflow.yml / workflowCreate.yml).
WRITABLE = {"name", "description", "nodes", "connections", "settings",
            "staticData", "pinData"}
CREATE_ONLY = {"projectId"}
READ_ONLY = {"id", "active", "createdAt", "updatedAt", "isArchived",
             "versionId", "triggerCount", "meta", "tags", "shared",
             "activeVersion", "activeVersionId"}
REQUIRED = ("name", "nodes", "connections", "settings")

NODE_KEYS = {"id", "name", "webhookId", "disabled", "notesInFlow", "notes",
             "type", "typeVersion", "executeOnce", "alwaysOutputData",
             "retryOnFail", "maxTries", "waitBetweenTries", "continueOnFail",
             "onError", "position", "parameters", "credentials"}
NODE_READ_ONLY = {"createdAt", "updatedAt"}

SETTINGS_ENUMS = {
    "saveDataErrorExecution": {"all", "none"},
    "saveDataSuccessExecution": {"all", "none"},
    "callerPolicy": {"any", "none", "workflowsFromAList",
                     "workflowsFromSameOwner"},
}
SETTINGS_TYPES = {
    "saveExecutionProgress": bool, "saveManualExecutions": bool,
    "saveDataErrorExecution": str, "saveDataSuccessExecution": str,
    "executionTimeout": (int, float), "errorWorkflow": str, "timezone": str,
    "executionOrder": str, "callerPolicy": str, "callerIds": str,
    "timeSavedPerExecution": (int, float), "availableInMCP": bool,
}

# Node types this instance "has installed", with the highest typeVersion
# of each (n8n refuses to activate a workflow using anything else).
NODE_TYPES = {
    "n8n-nodes-base.webhook": 2.1,
    "n8n-nodes-base.scheduleTrigger": 1.2,
    "n8n-nodes-base.cron": 1,
    "n8n-nodes-base.interval": 1,
    "n8n-nodes-base.manualTrigger": 1,
    "n8n-nodes-base.formTrigger": 2.3,
    "n8n-nodes-base.executeWorkflowTrigger": 1.1,
    "n8n-nodes-base.errorTrigger": 1,
    "n8n-nodes-base.emailReadImap": 2,
    "n8n-nodes-base.httpRequest": 4.2,
    "n8n-nodes-base.set": 3.4,
    "n8n-nodes-base.if": 2.2,
    "n8n-nodes-base.switch": 3.2,
    "n8n-nodes-base.merge": 3.2,
    "n8n-nodes-base.code": 2,
    "n8n-nodes-base.noOp": 1,
    "n8n-nodes-base.respondToWebhook": 1.4,
    "n8n-nodes-base.slack": 2.3,
    "n8n-nodes-base.gmail": 2.1,
    "n8n-nodes-base.emailSend": 2.1,
    "n8n-nodes-base.wait": 1.1,
    "n8n-nodes-base.stickyNote": 1,
}
# Nodes that can start a workflow in production (manualTrigger cannot).
TRIGGER_TYPES = {
    "n8n-nodes-base.webhook", "n8n-nodes-base.scheduleTrigger",
    "n8n-nodes-base.cron", "n8n-nodes-base.interval",
    "n8n-nodes-base.formTrigger", "n8n-nodes-base.executeWorkflowTrigger",
    "n8n-nodes-base.errorTrigger", "n8n-nodes-base.emailReadImap",
}

CREDENTIAL_TYPES = {
    "slackApi", "slackOAuth2Api", "gmailOAuth2", "googleApi", "smtp", "imap",
    "httpHeaderAuth", "httpBasicAuth", "httpQueryAuth", "httpBearerAuth",
    "httpCustomAuth", "oAuth2Api",
}


def new_id():
    alphabet = string.ascii_letters + string.digits
    return "".join(random.choice(alphabet) for _ in range(16))


class BadRequest(Exception):
    pass


def is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def check_workflow(body, creating):
    """Raises BadRequest with n8n's (express-openapi-validator) wording."""
    if not isinstance(body, dict):
        raise BadRequest("request/body must be object")
    for k in REQUIRED:
        if k not in body:
            raise BadRequest("request/body must have required property '%s'"
                             % k)
    for k in body:
        if k in READ_ONLY:
            raise BadRequest("request/body/%s is read-only" % k)
        if k in WRITABLE or (creating and k in CREATE_ONLY):
            continue
        raise BadRequest("request/body must NOT have additional properties "
                         "(additionalProperty: '%s')" % k)
    if not isinstance(body["name"], str) or not body["name"]:
        raise BadRequest("request/body/name must be string")
    if not isinstance(body["nodes"], list):
        raise BadRequest("request/body/nodes must be array")
    if not isinstance(body["connections"], dict):
        raise BadRequest("request/body/connections must be object")
    settings = body["settings"]
    if not isinstance(settings, dict):
        raise BadRequest("request/body/settings must be object")
    for k, v in settings.items():
        if k not in SETTINGS_TYPES:
            raise BadRequest("request/body/settings must NOT have additional "
                             "properties (additionalProperty: '%s')" % k)
        if not isinstance(v, SETTINGS_TYPES[k]) or (
                SETTINGS_TYPES[k] is not bool and isinstance(v, bool)):
            raise BadRequest("request/body/settings/%s has the wrong type" % k)
        if k in SETTINGS_ENUMS and v not in SETTINGS_ENUMS[k]:
            raise BadRequest("request/body/settings/%s must be equal to one "
                             "of the allowed values: %s" %
                             (k, ", ".join(sorted(SETTINGS_ENUMS[k]))))
    names = set()
    for i, node in enumerate(body["nodes"]):
        where = "request/body/nodes/%d" % i
        if not isinstance(node, dict):
            raise BadRequest(where + " must be object")
        for k in node:
            if k in NODE_READ_ONLY:
                raise BadRequest("%s/%s is read-only" % (where, k))
            if k not in NODE_KEYS:
                raise BadRequest("%s must NOT have additional properties "
                                 "(additionalProperty: '%s')" % (where, k))
        for k in ("name", "type", "typeVersion", "position", "parameters"):
            if k not in node:
                raise BadRequest("%s must have required property '%s'"
                                 % (where, k))
        if not isinstance(node["name"], str) or not node["name"]:
            raise BadRequest(where + "/name must be string")
        if node["name"] in names:
            raise BadRequest("Duplicate node name '%s': node names must be "
                             "unique within a workflow" % node["name"])
        names.add(node["name"])
        if not isinstance(node["type"], str):
            raise BadRequest(where + "/type must be string")
        if not is_number(node["typeVersion"]):
            raise BadRequest(where + "/typeVersion must be number")
        pos = node["position"]
        if not isinstance(pos, list) or len(pos) != 2 or \
                not all(is_number(x) for x in pos):
            raise BadRequest(where + "/position must be an array of two "
                             "numbers [x, y]")
        if not isinstance(node["parameters"], dict):
            raise BadRequest(where + "/parameters must be object")
        creds = node.get("credentials")
        if creds is not None:
            if not isinstance(creds, dict):
                raise BadRequest(where + "/credentials must be object")
            for ctype, ref in creds.items():
                if not isinstance(ref, dict) or "id" not in ref:
                    raise BadRequest("%s/credentials/%s must be an object "
                                     "with an id" % (where, ctype))
    for src, outputs in body["connections"].items():
        where = "request/body/connections/%s" % src
        if src not in names:
            raise BadRequest("%s: connections are keyed by node name and no "
                             "node is named '%s'" % (where, src))
        if not isinstance(outputs, dict):
            raise BadRequest(where + " must be object")
        for ctype, lists in outputs.items():
            if not isinstance(lists, list):
                raise BadRequest("%s/%s must be array" % (where, ctype))
            for j, targets in enumerate(lists):
                if targets is None:
                    continue
                if not isinstance(targets, list):
                    raise BadRequest("%s/%s/%d must be array"
                                     % (where, ctype, j))
                for t in targets:
                    if not isinstance(t, dict) or \
                            set(t) != {"node", "type", "index"}:
                        raise BadRequest("%s/%s/%d: each connection is "
                                         "{node, type, index}"
                                         % (where, ctype, j))
                    if t["node"] not in names:
                        raise BadRequest("%s/%s/%d: connection to unknown "
                                         "node '%s'" % (where, ctype, j,
                                                        t["node"]))
                    if not isinstance(t["index"], int) or t["index"] < 0:
                        raise BadRequest("%s/%s/%d: index must be a "
                                         "non-negative integer"
                                         % (where, ctype, j))


def webhook_key(node):
    p = node.get("parameters") or {}
    method = str(p.get("httpMethod", "GET")).upper()
    path = str(p.get("path") or node.get("webhookId") or "").strip("/")
    return method, path


class Handler(fakelib.FakeHandler):
    modes = set()

    def sample_body(self):
        return {"data": [], "nextCursor": None}

    def error_for(self, status, f):
        msgs = {401: "unauthorized", 403: "forbidden", 404: "Not Found",
                429: "Too many requests", 500: "Internal Server Error",
                503: "Service Unavailable"}
        return status, {"message": msgs.get(status, "Error %d" % status)}, {}

    def not_found(self, method, path):
        self.send_json(404, {"message": "not found"})

    # -- state --------------------------------------------------------------
    @property
    def db(self):
        return self.server.db

    def save(self):
        if self.server.args.state_dir:
            fakelib.save_json(os.path.join(self.server.args.state_dir,
                                           "n8n_state.json"), self.db)

    def reset_data(self):
        self.server.db.clear()
        self.server.db.update({"workflows": {}, "credentials": {}})
        self.save()

    def extra_control(self, method, path, query, raw, body):
        if path == "/_fake/state" and method == "GET":
            self.send_json(200, self.db)
            return True
        return False

    # -- the API ------------------------------------------------------------
    def route(self, method, path, query, raw, body):
        if path.startswith("/webhook/") or path.startswith("/webhook-test/"):
            return self.webhook(method, path)
        if not path.startswith("/api/v1/"):
            return None
        key = self.headers.get("X-N8N-API-KEY")
        if key is None:
            return 401, {"message": "'X-N8N-API-KEY' header required"}, {}
        if key != self.server.args.api_key:
            return 401, {"message": "unauthorized"}, {}
        parts = [p for p in path[len("/api/v1/"):].split("/") if p]
        has_body = method in ("POST", "PUT", "PATCH")
        if has_body and raw and body is None:
            return 400, {"message": "Unexpected token in JSON body"}, {}
        try:
            if parts == ["workflows"]:
                if method == "GET":
                    return self.list_workflows(query)
                if method == "POST":
                    return self.create_workflow(body)
            elif len(parts) == 2 and parts[0] == "workflows":
                wid = parts[1]
                if method == "GET":
                    return self.get_workflow(wid)
                if method == "PUT":
                    return self.update_workflow(wid, body)
                if method == "DELETE":
                    return self.delete_workflow(wid)
            elif len(parts) == 3 and parts[0] == "workflows" and \
                    method == "POST" and parts[2] in ("activate",
                                                      "deactivate"):
                return self.set_active(parts[1], parts[2] == "activate")
            elif parts == ["credentials"] and method == "POST":
                return self.create_credential(body)
            elif len(parts) == 2 and parts[0] == "credentials" and \
                    method == "DELETE":
                return self.delete_credential(parts[1])
            else:
                return None
            return 405, {"message": "method not allowed"}, {}
        except BadRequest as e:
            return 400, {"message": str(e)}, {}

    def public(self, wf):
        return dict(wf)

    def list_workflows(self, query):
        rows = list(self.db["workflows"].values())
        if "active" in query:
            want = query["active"][0] == "true"
            rows = [w for w in rows if w["active"] == want]
        if "name" in query:
            rows = [w for w in rows if query["name"][0] in w["name"]]
        return 200, {"data": [self.public(w) for w in rows],
                     "nextCursor": None}, {}

    def get_workflow(self, wid):
        wf = self.db["workflows"].get(wid)
        if wf is None:
            return 404, {"message": "Not Found"}, {}
        return 200, self.public(wf), {}

    def materialise(self, body, old=None):
        now = fakelib.now_iso()
        nodes = []
        for n in body["nodes"]:
            n = dict(n)
            n.setdefault("id", str(uuid.uuid4()))
            if n["type"] == "n8n-nodes-base.webhook":
                n.setdefault("webhookId", str(uuid.uuid4()))
            nodes.append(n)
        wf = {
            "id": old["id"] if old else new_id(),
            "name": body["name"],
            "description": body.get("description"),
            "active": old["active"] if old else False,
            "isArchived": False,
            "createdAt": old["createdAt"] if old else now,
            "updatedAt": now,
            "versionId": str(uuid.uuid4()),
            "triggerCount": 0,
            "nodes": nodes,
            "connections": body["connections"],
            "settings": body["settings"],
            "staticData": body.get("staticData"),
            "pinData": body.get("pinData") or {},
            "meta": None,
            "tags": [],
        }
        if wf["active"]:
            wf["triggerCount"] = self.count_triggers(wf)
        return wf

    def create_workflow(self, body):
        check_workflow(body, creating=True)
        wf = self.materialise(body)
        self.db["workflows"][wf["id"]] = wf
        self.save()
        return 200, self.public(wf), {}

    def update_workflow(self, wid, body):
        old = self.db["workflows"].get(wid)
        if old is None:
            return 404, {"message": "Not Found"}, {}
        check_workflow(body, creating=False)
        wf = self.materialise(body, old)
        if wf["active"]:
            # An active workflow is re-published on update: it must still
            # pass activation.
            self.check_activation(wf)
        self.db["workflows"][wid] = wf
        self.save()
        return 200, self.public(wf), {}

    def delete_workflow(self, wid):
        wf = self.db["workflows"].pop(wid, None)
        if wf is None:
            return 404, {"message": "Not Found"}, {}
        self.save()
        return 200, self.public(wf), {}

    def count_triggers(self, wf):
        return sum(1 for n in wf["nodes"] if n["type"] in TRIGGER_TYPES
                   and not n.get("disabled"))

    def check_activation(self, wf):
        for n in wf["nodes"]:
            maxv = NODE_TYPES.get(n["type"])
            if maxv is None:
                raise BadRequest("Unrecognized node type: %s" % n["type"])
            if n["typeVersion"] <= 0 or n["typeVersion"] > maxv:
                raise BadRequest("Unrecognized node type: %s (typeVersion %s "
                                 "is not installed)" %
                                 (n["type"], n["typeVersion"]))
            for ctype, ref in (n.get("credentials") or {}).items():
                cred = self.db["credentials"].get(str(ref.get("id")))
                if cred is None:
                    raise BadRequest("Node \"%s\" uses credentials of type "
                                     "'%s' with id %s, which do not exist" %
                                     (n["name"], ctype, ref.get("id")))
                if cred["type"] != ctype:
                    raise BadRequest("Node \"%s\": credential %s is of type "
                                     "'%s', not '%s'" % (n["name"],
                                                         ref.get("id"),
                                                         cred["type"], ctype))
        if self.count_triggers(wf) == 0:
            raise BadRequest("Workflow has no node to start the workflow - at "
                             "least one trigger, poller or webhook node is "
                             "required")
        mine = {webhook_key(n) for n in wf["nodes"]
                if n["type"] == "n8n-nodes-base.webhook"
                and not n.get("disabled")}
        for other in self.db["workflows"].values():
            if other["id"] == wf["id"] or not other["active"]:
                continue
            for n in other["nodes"]:
                if n["type"] == "n8n-nodes-base.webhook" and \
                        not n.get("disabled") and webhook_key(n) in mine:
                    raise BadRequest("The URL path that the \"%s\" node uses "
                                     "is already taken. Please change it to "
                                     "something else." % n["name"])

    def set_active(self, wid, active):
        wf = self.db["workflows"].get(wid)
        if wf is None:
            return 404, {"message": "Not Found"}, {}
        if active:
            self.check_activation(wf)
            wf["triggerCount"] = self.count_triggers(wf)
        else:
            wf["triggerCount"] = 0
        wf["active"] = active
        wf["updatedAt"] = fakelib.now_iso()
        self.save()
        return 200, self.public(wf), {}

    def create_credential(self, body):
        if not isinstance(body, dict):
            raise BadRequest("request/body must be object")
        for k in ("name", "type", "data"):
            if k not in body:
                raise BadRequest("request/body must have required property "
                                 "'%s'" % k)
        for k in body:
            if k not in ("name", "type", "data", "projectId",
                         "isResolvable"):
                if k in ("id", "createdAt", "updatedAt"):
                    raise BadRequest("request/body/%s is read-only" % k)
                raise BadRequest("request/body must NOT have additional "
                                 "properties (additionalProperty: '%s')" % k)
        if not isinstance(body["name"], str) or not body["name"]:
            raise BadRequest("request/body/name must be string")
        if not isinstance(body["data"], dict):
            raise BadRequest("request/body/data must be object")
        if body["type"] not in CREDENTIAL_TYPES:
            raise BadRequest("req.body.type is not a known type")
        now = fakelib.now_iso()
        cid = new_id()
        self.db["credentials"][cid] = {
            "id": cid, "name": body["name"], "type": body["type"],
            "data": body["data"], "createdAt": now, "updatedAt": now}
        self.save()
        # n8n never echoes the secret data back.
        return 200, {"id": cid, "name": body["name"], "type": body["type"],
                     "createdAt": now, "updatedAt": now}, {}

    def delete_credential(self, cid):
        c = self.db["credentials"].pop(cid, None)
        if c is None:
            return 404, {"message": "Not Found"}, {}
        self.save()
        return 200, {k: c[k] for k in ("id", "name", "type", "createdAt",
                                       "updatedAt")}, {}

    def webhook(self, method, path):
        prefix, _, rest = path[1:].partition("/")
        want = (method, rest.strip("/"))
        for wf in self.db["workflows"].values():
            if prefix == "webhook" and not wf["active"]:
                continue
            for n in wf["nodes"]:
                if n["type"] == "n8n-nodes-base.webhook" and \
                        not n.get("disabled") and webhook_key(n) == want:
                    return 200, {"message": "Workflow was started"}, {}
        return 404, {"code": 404, "message": "The requested webhook \"%s %s\" "
                     "is not registered." % want,
                     "hint": "The workflow must be active for a production "
                             "URL to run successfully."}, {}


def main():
    p = fakelib.base_args(__doc__.splitlines()[0])
    p.add_argument("--api-key", default=os.environ.get("FAKE_N8N_KEY",
                                                       DEFAULT_KEY))
    args = p.parse_args()

    def setup(srv):
        db = {"workflows": {}, "credentials": {}}
        if args.state_dir:
            db = fakelib.load_json(os.path.join(args.state_dir,
                                                "n8n_state.json"), db)
        srv.db = db

    return fakelib.serve(Handler, "n8n", args, setup)


if __name__ == "__main__":
    sys.exit(main())
