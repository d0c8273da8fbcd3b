#!/usr/bin/env python3
"""A fake of OpenAI's Responses API (POST /v1/responses) for Canopy's tests.

Answers like the real service, errors included, and checks what Canopy
sends: a Bearer key, model, input, text.format of type json_schema with
strict true, a name and a schema that strict mode accepts, store false,
no temperature for reasoning models.  See README.md for the modes.

  python3 tests/fakes/openai_fake.py --port 0 [--api-key K] \
      [--answer-file F] [--state-dir D]
"""

import json
import os
import re
import sys
import time
import uuid

# No __pycache__ in the source tree.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fakelib  # noqa: E402

DEFAULT_KEY = "sk-test-canopy-0123456789"

# A workflow graph shaped as issue 4 describes it; tests that depend on the
# exact schema set their own answer with --answer-file or /_fake/answer.
DEFAULT_ANSWER = {
    "name": "Form to Slack",
    "description": "Posts each form submission to Slack.",
    "env": "production",
    "nodes": [
        {"id": "form", "type": "webhook", "action": "receive",
         "inputs": {"path": "form", "method": "POST"},
         "outputs": ["main"], "authRef": None},
        {"id": "notify", "type": "slack", "action": "post_message",
         "inputs": {"channel": "#general", "text": "New form"},
         "outputs": ["main"], "authRef": "slack-main"},
    ],
    "edges": [{"fromNodeId": "form", "fromPort": "main",
               "toNodeId": "notify", "toPort": "main"}],
    "triggers": [{"type": "webhook", "config": {"path": "form",
                                                "method": "POST"}}],
}

DEFAULT_VIOLATION = {"name": 42, "unexpected": True}

KNOWN_PARAMS = {
    "model", "input", "instructions", "text", "store", "temperature",
    "max_output_tokens", "top_p", "metadata", "reasoning", "user",
    "previous_response_id", "tools", "tool_choice", "parallel_tool_calls",
    "truncation", "stream", "include", "background", "service_tier",
    "safety_identifier", "prompt_cache_key", "max_tool_calls", "conversation",
    "prompt", "top_logprobs",
}

SCHEMA_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
UNSUPPORTED_KEYWORDS = {"allOf", "not", "if", "then", "else",
                        "dependentRequired", "dependentSchemas",
                        "patternProperties", "unevaluatedProperties",
                        "propertyNames", "contains", "minProperties",
                        "maxProperties", "oneOf"}


def is_reasoning_model(model):
    return model.startswith("o") or model.startswith("gpt-5")


def oai_error(status, message, etype="invalid_request_error", param=None,
              code=None):
    return status, {"error": {"message": message, "type": etype,
                              "param": param, "code": code}}, {}


def mask_key(key):
    if len(key) <= 8:
        return "***"
    return key[:3] + "*" * 4 + key[-4:]


def strict_schema_problem(schema, where="root", depth=0):
    """The first reason strict structured outputs would refuse schema, or
    None.  Mirrors the documented rules: every object lists all its
    properties in required and sets additionalProperties false; at most 10
    levels of nesting; no allOf/oneOf/not/if; root is an object."""
    if not isinstance(schema, dict):
        return "In context=%s, schema must be an object" % where
    if depth > 10:
        return "In context=%s, schema nesting exceeds 10 levels" % where
    for k in schema:
        if k in UNSUPPORTED_KEYWORDS:
            return "In context=%s, '%s' is not permitted" % (where, k)
    types = schema.get("type")
    tlist = types if isinstance(types, list) else [types]
    if "object" in tlist and "properties" in schema:
        props = schema.get("properties") or {}
        if schema.get("additionalProperties") is not False:
            return ("In context=%s, 'additionalProperties' is required to be "
                    "supplied and to be false" % where)
        req = schema.get("required")
        if not isinstance(req, list) or set(req) != set(props):
            missing = sorted(set(props) - set(req or []))
            return ("In context=%s, 'required' is required to be supplied "
                    "and to be an array including every key in properties. "
                    "Missing '%s'" % (where, missing[0] if missing else "?"))
        for name, sub in props.items():
            p = strict_schema_problem(sub, "%s.properties.%s" % (where, name),
                                      depth + 1)
            if p:
                return p
    elif "object" in tlist and schema.get("additionalProperties") is not False:
        return ("In context=%s, 'additionalProperties' is required to be "
                "supplied and to be false" % where)
    if "items" in schema:
        p = strict_schema_problem(schema["items"], where + ".items", depth + 1)
        if p:
            return p
    for i, sub in enumerate(schema.get("anyOf") or []):
        p = strict_schema_problem(sub, "%s.anyOf.%d" % (where, i), depth + 1)
        if p:
            return p
    for key in ("$defs", "definitions"):
        for name, sub in (schema.get(key) or {}).items():
            p = strict_schema_problem(sub, "%s.%s.%s" % (where, key, name),
                                      depth + 1)
            if p:
                return p
    return None


class Handler(fakelib.FakeHandler):
    modes = {"refusal", "incomplete", "invalid_json", "schema_violation",
             "no_message", "failed"}

    def sample_body(self):
        return {"id": "resp_cut", "object": "response", "status": "completed",
                "output": [{"type": "message", "content": []}]}

    def not_found(self, method, path):
        self.send_json(404, {"error": {
            "message": "Invalid URL (%s %s)" % (method, path),
            "type": "invalid_request_error", "param": None, "code": None}})

    def error_for(self, status, f):
        headers = {"x-request-id": "req_" + uuid.uuid4().hex}
        if status == 401:
            return status, {"error": {
                "message": "Incorrect API key provided: sk-****. You can find "
                           "your API key at https://platform.openai.com/"
                           "account/api-keys.",
                "type": "invalid_request_error", "param": None,
                "code": "invalid_api_key"}}, headers
        if status == 429:
            wait = f.retry_after if f.retry_after is not None else 1
            headers.update({
                "x-ratelimit-limit-requests": "500",
                "x-ratelimit-remaining-requests": "0",
                "x-ratelimit-reset-requests": "%ss" % wait,
                "x-ratelimit-limit-tokens": "200000",
                "x-ratelimit-remaining-tokens": "0",
                "x-ratelimit-reset-tokens": "%ss" % wait,
            })
            return status, {"error": {
                "message": "Rate limit reached for requests in organization "
                           "org-fake on requests per min (RPM): Limit 500, "
                           "Used 500, Requested 1. Please try again in %ss."
                           % wait,
                "type": "requests", "param": None,
                "code": "rate_limit_exceeded"}}, headers
        if status >= 500:
            msg = ("The server had an error while processing your request. "
                   "Sorry about that!" if status == 500 else
                   "The server is overloaded or not ready yet.")
            return status, {"error": {"message": msg, "type": "server_error",
                                      "param": None, "code": None}}, headers
        return status, {"error": {"message": "Fake error %d" % status,
                                  "type": "invalid_request_error",
                                  "param": None, "code": None}}, headers

    def fail(self, f):
        # Service-specific modes shape a 200 answer; remember which.
        self.pending_mode = f.mode
        return False

    # -- control ----------------------------------------------------------
    def extra_control(self, method, path, query, raw, body):
        srv = self.server
        if path == "/_fake/answer" and method == "POST":
            kind = (query.get("kind") or ["answer"])[0]
            text = raw.decode("utf-8")
            with srv.data_lock:
                if kind == "violation":
                    srv.violation_text = text
                else:
                    srv.answer_text = text
            self.send_json(200, {"ok": True})
            return True
        if path == "/_fake/config" and method == "POST":
            if not isinstance(body, dict):
                raise ValueError("body must be a JSON object")
            with srv.data_lock:
                if "reasoning_item" in body:
                    srv.reasoning_item = bool(body["reasoning_item"])
            self.send_json(200, {"ok": True})
            return True
        if path == "/_fake/answer" and method == "GET":
            self.send_json(200, {"answer": srv.answer_text,
                                 "violation": srv.violation_text})
            return True
        return False

    def reset_data(self):
        self.server.answer_text = self.server.initial_answer
        self.server.violation_text = json.dumps(DEFAULT_VIOLATION)
        self.server.reasoning_item = not self.server.args.no_reasoning_item

    # -- the API ----------------------------------------------------------
    def route(self, method, path, query, raw, body):
        mode = getattr(self, "pending_mode", "ok")
        self.pending_mode = "ok"
        if path.rstrip("/") != "/v1/responses":
            return None
        if method != "POST":
            return oai_error(405, "Method %s not allowed for /v1/responses"
                             % method)
        auth = self.headers.get("Authorization")
        if not auth:
            return oai_error(401, "You didn't provide an API key. You need to "
                             "provide your API key in an Authorization header "
                             "using Bearer auth (i.e. Authorization: Bearer "
                             "YOUR_KEY).")
        key = auth[7:] if auth.startswith("Bearer ") else ""
        if key != self.server.args.api_key:
            return oai_error(401, "Incorrect API key provided: %s. You can "
                             "find your API key at https://platform.openai."
                             "com/account/api-keys." % mask_key(key),
                             code="invalid_api_key")
        if body is None or not isinstance(body, dict):
            return oai_error(400, "We could not parse the JSON body of your "
                             "request. (HINT: This likely means you aren't "
                             "using your HTTP library correctly.)")
        problem = self.check_request(body)
        if problem:
            return problem
        return self.answer(body, mode)

    def check_request(self, b):
        for k in b:
            if k not in KNOWN_PARAMS:
                return oai_error(400, "Unknown parameter: '%s'." % k, param=k,
                                 code="unknown_parameter")
        if not isinstance(b.get("model"), str) or not b["model"]:
            return oai_error(400, "Missing required parameter: 'model'.",
                             param="model", code="missing_required_parameter")
        inp = b.get("input")
        if not (isinstance(inp, str) and inp) and not isinstance(inp, list):
            return oai_error(400, "Missing required parameter: 'input'.",
                             param="input", code="missing_required_parameter")
        if "instructions" in b and not isinstance(b["instructions"],
                                                  (str, type(None))):
            return oai_error(400, "Invalid type for 'instructions': expected "
                             "a string.", param="instructions",
                             code="invalid_type")
        if "temperature" in b:
            t = b["temperature"]
            if is_reasoning_model(b["model"]):
                return oai_error(400, "Unsupported parameter: 'temperature' "
                                 "is not supported with this model.",
                                 param="temperature",
                                 code="unsupported_parameter")
            if not isinstance(t, (int, float)) or isinstance(t, bool) or \
                    t < 0 or t > 2:
                return oai_error(400, "Invalid 'temperature': must be a "
                                 "number between 0 and 2.",
                                 param="temperature", code="invalid_value")
        if "max_output_tokens" in b:
            m = b["max_output_tokens"]
            if not isinstance(m, int) or isinstance(m, bool) or m < 16:
                return oai_error(400, "Invalid 'max_output_tokens': integer "
                                 "below minimum value. Expected a value >= "
                                 "16.", param="max_output_tokens",
                                 code="integer_below_min_value")
        fmt = (b.get("text") or {}).get("format") if isinstance(
            b.get("text"), dict) else None
        # The real API would fall back to plain text; Canopy must always ask
        # for strict structured output, so the fake insists on it.
        if not isinstance(fmt, dict) or fmt.get("type") != "json_schema":
            return oai_error(400, "[fake] text.format must be of type "
                             "'json_schema' (Canopy always asks for "
                             "structured output).", param="text.format")
        if not isinstance(fmt.get("name"), str):
            return oai_error(400, "Missing required parameter: "
                             "'text.format.name'.", param="text.format.name",
                             code="missing_required_parameter")
        if not SCHEMA_NAME.match(fmt["name"]):
            return oai_error(400, "Invalid 'text.format.name': string does "
                             "not match pattern. Expected a string that "
                             "matches the pattern '^[a-zA-Z0-9_-]+$'.",
                             param="text.format.name", code="invalid_value")
        if "schema" not in fmt:
            return oai_error(400, "Missing required parameter: "
                             "'text.format.schema'.",
                             param="text.format.schema",
                             code="missing_required_parameter")
        if fmt.get("strict") is not True:
            return oai_error(400, "[fake] text.format.strict must be true.",
                             param="text.format.strict")
        schema = fmt["schema"]
        if not isinstance(schema, dict) or schema.get("type") != "object":
            return oai_error(400, "Invalid schema for response_format '%s': "
                             "schema must be a JSON Schema of 'type: "
                             "\"object\"', got 'type: \"%s\"'." %
                             (fmt["name"], (schema or {}).get("type")
                              if isinstance(schema, dict) else None),
                             param="text.format.schema",
                             code="invalid_json_schema")
        p = strict_schema_problem(schema)
        if p:
            return oai_error(400, "Invalid schema for response_format '%s': "
                             "%s." % (fmt["name"], p),
                             param="text.format.schema",
                             code="invalid_json_schema")
        if b.get("store") is not False:
            return oai_error(400, "[fake] store must be false (Canopy never "
                             "keeps prompts at OpenAI).", param="store")
        return None

    def answer(self, b, mode):
        srv = self.server
        model = b["model"]
        text = srv.answer_text
        status = "completed"
        incomplete = None
        content = None
        if mode == "schema_violation":
            text = srv.violation_text
        elif mode == "invalid_json":
            text = text[: max(1, len(text) * 2 // 3)] + " <- not JSON"
        elif mode == "incomplete":
            status = "incomplete"
            incomplete = {"reason": "max_output_tokens"}
            text = text[: max(1, len(text) // 2)]
        elif mode == "refusal":
            content = [{"type": "refusal",
                        "refusal": "I'm sorry, I can't help with that."}]
        in_tokens = max(1, len(json.dumps(b)) // 4)
        out_tokens = max(1, len(text) // 4)
        reasoning_tokens = 64 if is_reasoning_model(model) or \
            srv.reasoning_item else 0
        output = []
        if reasoning_tokens:
            output.append({"id": "rs_" + uuid.uuid4().hex, "type": "reasoning",
                           "summary": []})
        if content is None:
            content = [{"type": "output_text", "text": text,
                        "annotations": [], "logprobs": []}]
        if mode != "no_message":
            output.append({"id": "msg_" + uuid.uuid4().hex, "type": "message",
                           "status": "incomplete" if incomplete else
                           "completed", "role": "assistant",
                           "content": content})
        error = None
        if mode == "failed":
            status = "failed"
            error = {"code": "server_error",
                     "message": "The model failed to generate a response."}
            output = []
        resp = {
            "id": "resp_" + uuid.uuid4().hex,
            "object": "response",
            "created_at": int(time.time()),
            "status": status,
            "background": False,
            "error": error,
            "incomplete_details": incomplete,
            "instructions": b.get("instructions"),
            "max_output_tokens": b.get("max_output_tokens"),
            "model": model + "-2025-04-14" if not re.search(r"\d{4}-\d\d-\d\d$",
                                                           model) else model,
            "output": output,
            "parallel_tool_calls": True,
            "previous_response_id": None,
            "reasoning": {"effort": "medium" if reasoning_tokens else None,
                          "summary": None},
            "store": b.get("store"),
            "temperature": b.get("temperature", 1.0),
            "text": b.get("text"),
            "tool_choice": "auto",
            "tools": [],
            "top_p": 1.0,
            "truncation": "disabled",
            "usage": {
                "input_tokens": in_tokens,
                "input_tokens_details": {"cached_tokens": 0},
                "output_tokens": out_tokens + reasoning_tokens,
                "output_tokens_details": {"reasoning_tokens":
                                          reasoning_tokens},
                "total_tokens": in_tokens + out_tokens + reasoning_tokens,
            },
            "user": None,
            "metadata": b.get("metadata") or {},
        }
        headers = {
            "x-request-id": "req_" + uuid.uuid4().hex,
            "openai-processing-ms": "42",
            "openai-version": "2020-10-01",
            "x-ratelimit-limit-requests": "500",
            "x-ratelimit-remaining-requests": "499",
            "x-ratelimit-reset-requests": "120ms",
            "x-ratelimit-limit-tokens": "200000",
            "x-ratelimit-remaining-tokens": "199000",
            "x-ratelimit-reset-tokens": "300ms",
        }
        return 200, resp, headers


def main():
    p = fakelib.base_args(__doc__.splitlines()[0])
    p.add_argument("--api-key", default=os.environ.get("FAKE_OPENAI_KEY",
                                                       DEFAULT_KEY))
    p.add_argument("--answer-file", default=None,
                   help="file whose contents are the JSON text answered")
    p.add_argument("--no-reasoning-item", action="store_true",
                   help="omit the reasoning item for non-reasoning models")
    args = p.parse_args()

    def setup(srv):
        if args.answer_file:
            with open(args.answer_file, encoding="utf-8") as fh:
                srv.initial_answer = fh.read()
        else:
            srv.initial_answer = json.dumps(DEFAULT_ANSWER)
        srv.answer_text = srv.initial_answer
        srv.violation_text = json.dumps(DEFAULT_VIOLATION)
        srv.reasoning_item = not args.no_reasoning_item

    return fakelib.serve(Handler, "openai", args, setup)


if __name__ == "__main__":
    sys.exit(main())
