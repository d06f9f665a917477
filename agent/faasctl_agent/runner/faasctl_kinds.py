"""Handler kinds for the in-container runner: each platform's calling contract.

A function written for AWS Lambda, Apache OpenWhisk or OpenFaaS runs here unmodified:
each kind loads the handler the way that platform names it, sets the environment its
functions read, builds the arguments they expect and turns the return value (or the
exception) into the call's result (or error). Standard library only, like runner.py,
beside which it is shipped; its name is unlikely to shadow a function's own module.

Per-function values (name, version, memory, timeout) come from the init message, not
the container's environment, because a stem cell starts before its function is known;
per-call values (the call id, its deadline, an HTTP request) come with each call.
"""

import glob
import importlib
import importlib.util
import json
import os
import sys
import time
import traceback

from faasctl_http import ContractError, Headers, Query, api_gateway_event, http_response, request_body

RUNNER_DIR = os.path.dirname(os.path.abspath(__file__))


def load(msg):
    """The kind named by an init message, with its handler loaded."""
    kind = msg.get("kind") or "native"
    if kind not in KINDS:
        raise ValueError("this runner does not know the kind %r" % (kind,))
    path = msg.get("path") or "."
    if path not in sys.path:
        sys.path.insert(0, path)
    return KINDS[kind](path, msg.get("handler") or "", msg.get("function") or {})


def _compact(value):
    return json.dumps(value, separators=(",", ":"))


def _deadline(call, meta):
    return float(call.get("deadline") or time.time() + float(meta.get("timeout") or 30))


class Native:
    """faasctl's own: `function(params)`; a string is the result as is, anything else JSON."""

    def __init__(self, path, handler, meta):
        module_name, _, attr = handler.partition(":")
        self.meta = meta
        self.fn = getattr(importlib.import_module(module_name), attr or "handle")

    def invoke(self, params, call):
        value = self.fn(params)
        return value if isinstance(value, str) else _compact(value)

    def error(self, call):
        return traceback.format_exc(limit=-8)


class _Identity:
    cognito_identity_id = None
    cognito_identity_pool_id = None


class LambdaContext:
    """The context object of AWS Lambda's Python runtime, from the function's settings."""

    def __init__(self, meta, request_id, deadline):
        name, version = meta.get("name", ""), str(meta.get("version") or "$LATEST")
        self.function_name = name
        self.function_version = version
        self.invoked_function_arn = "arn:aws:lambda:local:000000000000:function:%s" % name
        self.memory_limit_in_mb = str(meta.get("memory_mb") or 128)  # a string, as the AWS runtime gives it
        self.aws_request_id = request_id
        self.log_group_name = "/aws/lambda/%s" % name
        self.log_stream_name = time.strftime("%Y/%m/%d") + "/[%s]faasctl" % version
        self.identity = _Identity()
        self.client_context = None
        self._deadline = deadline

    def get_remaining_time_in_millis(self):
        return max(0, int((self._deadline - time.time()) * 1000))


class Lambda(Native):
    """`handler(event, context)` named MODULE.FUNCTION; errors shaped as Lambda shapes them."""

    def __init__(self, path, handler, meta):
        self.meta = meta
        os.environ.update({
            "AWS_LAMBDA_FUNCTION_NAME": str(meta.get("name", "")),
            "AWS_LAMBDA_FUNCTION_VERSION": str(meta.get("version") or "$LATEST"),
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(meta.get("memory_mb") or 128),
            "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/%s" % meta.get("name", ""),
            "_HANDLER": handler, "LAMBDA_TASK_ROOT": path,
        })
        module_path, _, attr = handler.rpartition(".")
        self.fn = getattr(importlib.import_module(module_path.replace("/", ".")), attr)

    def invoke(self, params, call):
        event = api_gateway_event(call["http"], call.get("id")) if call.get("http") else params
        value = self.fn(event, LambdaContext(self.meta, call.get("id"), _deadline(call, self.meta)))
        try:
            return _compact(value)
        except (TypeError, ValueError) as exc:
            raise ContractError(_compact({"errorMessage": "Unable to marshal response: %s" % exc,
                                          "errorType": "Runtime.MarshalError", "requestId": call.get("id"),
                                          "stackTrace": []})) from None

    def error(self, call):
        etype, exc, tb = sys.exc_info()
        if isinstance(exc, ContractError):
            return str(exc)
        frames = [f for f in traceback.extract_tb(tb) if not f.filename.startswith(RUNNER_DIR)]
        return _compact({"errorMessage": str(exc), "errorType": etype.__name__, "requestId": call.get("id"),
                         "stackTrace": traceback.format_list(frames)})


class OpenWhisk(Native):
    """`main(args)` from `__main__.py` (or the archive's one .py file), renamed by --handler."""

    def __init__(self, path, handler, meta):
        self.meta = meta
        for site in sorted(glob.glob(os.path.join(path, "virtualenv", "lib", "python*", "site-packages"))):
            sys.path.insert(0, site)  # a bundled virtualenv/, as OpenWhisk activates it
        entry = os.path.join(path, "__main__.py")
        if not os.path.exists(entry):
            found = sorted(glob.glob(os.path.join(path, "*.py")))
            if len(found) != 1:
                raise ContractError("an openwhisk action needs __main__.py (or a single .py file) at the top "
                                    "of its archive; found %d .py files" % len(found))
            entry = found[0]
        spec = importlib.util.spec_from_file_location("main__", entry)  # not "__main__": that is the runner
        module = importlib.util.module_from_spec(spec)
        sys.modules["main__"] = module
        spec.loader.exec_module(module)
        self.fn = getattr(module, handler or "main")
        name = str(meta.get("name", ""))
        os.environ.update({"__OW_ACTION_NAME": "/faasctl/%s" % name, "__OW_NAMESPACE": "faasctl",
                           "__OW_ACTION_VERSION": str(meta.get("version") or "0.0.1")})

    def invoke(self, params, call):
        params = {} if params is None else params
        if not isinstance(params, dict):
            raise ContractError("an openwhisk action takes a JSON object as its parameters, not %s"
                                % type(params).__name__)
        os.environ["__OW_ACTIVATION_ID"] = str(call.get("id") or "")
        os.environ["__OW_DEADLINE"] = str(int(_deadline(call, self.meta) * 1000))
        value = self.fn(params)
        if not isinstance(value, dict):
            raise ContractError("The action did not return a dictionary.")
        if "error" in value:  # OpenWhisk's application error: the result names it
            raise ContractError(_compact(value))
        return _compact(value)

    def error(self, call):
        exc = sys.exc_info()[1]
        return str(exc) if isinstance(exc, ContractError) else traceback.format_exc(limit=-8)


class OpenFaas(Native):
    """The classic python3 template: `handle(req)` with the request body as a str."""

    def __init__(self, path, handler, meta):
        self.meta = meta
        module_path, _, attr = handler.rpartition(".")
        self.fn = getattr(importlib.import_module(module_path), attr)

    def invoke(self, params, call):
        http = call.get("http")
        if http:
            req = request_body(http).decode("utf-8", "replace")
            _cgi_environment(http)
        else:
            req = params if isinstance(params, str) else "" if params is None else _compact(params)
        value = self.fn(req)
        return "" if value is None else str(value)


def _cgi_environment(http):
    """The Http_* variables the classic watchdog gives each request (its cgi_headers)."""
    for key in [k for k in os.environ if k.startswith("Http_")]:
        del os.environ[key]
    os.environ.update({"Http_Method": http.get("method", ""), "Http_Path": http.get("path", "/"),
                       "Http_Query": http.get("query", "")})
    for name, value in http.get("headers") or []:
        os.environ["Http_" + "-".join(p.capitalize() for p in name.split("-")).replace("-", "_")] = value


class Event:
    """What the python3-http template hands its handler: the request."""

    def __init__(self, body, headers, method, query, path):
        self.body, self.headers, self.method, self.query, self.path = body, headers, method, query, path


class Context:
    def __init__(self):
        self.hostname = os.getenv("HOSTNAME", "localhost")


class OpenFaasHttp(OpenFaas):
    """The python3-http template: `handle(event, context)`, answering {statusCode, body, headers}.

    The call's result is the response in API Gateway's proxy shape (statusCode, headers,
    body, isBase64Encoded), which `faasctl serve` answers HTTP requests with."""

    def invoke(self, params, call):
        http = call.get("http")
        if http:
            event = Event(request_body(http), Headers(http.get("headers") or []), http.get("method", "GET"),
                          Query(http.get("query") or ""), http.get("path") or "/")
        else:
            body = params.encode() if isinstance(params, str) else b"" if params is None else _compact(params).encode()
            event = Event(body, Headers([("content-type", "application/json")]), "POST", Query(""), "/")
        return _compact(http_response(self.fn(event, Context())))

    def error(self, call):
        exc = sys.exc_info()[1]
        return str(exc) if isinstance(exc, ContractError) else traceback.format_exc(limit=-8)


KINDS = {"native": Native, "lambda": Lambda, "openwhisk": OpenWhisk, "openfaas": OpenFaas,
         "openfaas-http": OpenFaasHttp}
__all__ = ["KINDS", "ContractError", "load"]
