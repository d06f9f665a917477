"""HTTP requests and responses in the shapes the handler kinds expect (runner side).

`faasctl serve` sends a request as {"method", "path", "query" (the raw query string),
"headers" ([name, value] pairs), "body" (base64)}. Lambda functions get it as API
Gateway's proxy event (REST API, payload 1.0); OpenFaaS python3-http functions as the
template's event, with case-insensitive headers and a query that keeps repeated keys.
Both kinds answer in the proxy response shape, which serve turns back into HTTP.
Standard library only, like runner.py.
"""

import base64
import json
import time
from urllib.parse import parse_qsl


class ContractError(Exception):
    """The function broke its platform's contract; the message is the call's whole error."""


def request_body(http):
    return base64.b64decode(http.get("body") or "")


class Headers(dict):
    """Request headers by Title-Case name, looked up in any case (as Flask's are)."""

    def __init__(self, pairs):
        super().__init__()
        for name, value in pairs:
            dict.__setitem__(self, "-".join(p.capitalize() for p in name.split("-")), value)

    def _key(self, name):
        return "-".join(p.capitalize() for p in str(name).split("-"))

    def __getitem__(self, name):
        return dict.__getitem__(self, self._key(name))

    def __contains__(self, name):
        return dict.__contains__(self, self._key(name))

    def get(self, name, default=None):
        return dict.get(self, self._key(name), default)


class Query(dict):
    """Query parameters: the first value of each key, all of them with getlist (Flask's args)."""

    def __init__(self, raw):
        super().__init__()
        self.lists = {}
        for key, value in parse_qsl(raw, keep_blank_values=True):
            self.lists.setdefault(key, []).append(value)
            self.setdefault(key, value)

    def getlist(self, key):
        return list(self.lists.get(key, []))

    def to_dict(self, flat=True):
        return dict(self) if flat else {k: list(v) for k, v in self.lists.items()}


def api_gateway_event(http, request_id):
    """API Gateway's proxy event (REST API, payload 1.0), as if the function were at `/`;
    a repeated header or query key keeps its last value there, all of them in multiValue*."""
    headers, multi = {}, {}
    for name, value in http.get("headers") or []:
        headers[name] = value
        multi.setdefault(name, []).append(value)
    query = Query(http.get("query") or "")
    raw = request_body(http)
    try:
        body, encoded = raw.decode("utf-8"), False
    except UnicodeDecodeError:
        body, encoded = base64.b64encode(raw).decode(), True
    path, method = http.get("path") or "/", http.get("method") or "GET"
    return {
        "resource": "/{proxy+}", "path": path, "httpMethod": method, "headers": headers,
        "multiValueHeaders": multi, "queryStringParameters": {k: v[-1] for k, v in query.lists.items()} or None,
        "multiValueQueryStringParameters": query.to_dict(flat=False) or None,
        "pathParameters": {"proxy": path.lstrip("/")} if path.strip("/") else None, "stageVariables": None,
        "requestContext": {"resourcePath": "/{proxy+}", "httpMethod": method, "path": path, "stage": "faasctl",
                           "requestId": request_id, "requestTimeEpoch": int(time.time() * 1000),
                           "protocol": "HTTP/1.1", "identity": {"sourceIp": http.get("source_ip", "")}},
        "body": body if raw else None, "isBase64Encoded": encoded,
    }


def http_response(res):
    """A python3-http handler's return value as a proxy response, by the template's rules:
    None is an empty 200; statusCode defaults to 200; a dict body is sent as JSON; with
    Content-type application/octet-stream the body goes out as is (bytes too); any other
    body as its str(); headers as given."""
    res = {} if res is None else res
    if not isinstance(res, dict):
        raise ContractError("an openfaas-http handler returns a dict (statusCode, body, headers) or None, not %s"
                            % type(res).__name__)
    headers = res.get("headers") or {}
    headers = dict(headers.items() if isinstance(headers, dict) else headers)
    headers = {str(k): str(v) for k, v in headers.items()}
    status = res.get("statusCode", 200)
    try:
        status = int(status)
    except (TypeError, ValueError):
        raise ContractError("statusCode %r is not an HTTP status" % (status,)) from None
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    body, encoded = res.get("body", ""), False
    if content_type == "application/octet-stream" and isinstance(body, (bytes, bytearray)):
        body, encoded = base64.b64encode(bytes(body)).decode(), True
    elif isinstance(body, dict) and "body" in res:
        body = json.dumps(body)
        if not content_type:
            headers["Content-Type"] = "application/json"
    else:
        body = str(body)
    if not content_type and "Content-Type" not in headers:
        headers["Content-Type"] = "text/html; charset=utf-8"  # what the template's Flask answers by default
    return {"statusCode": status, "headers": headers, "body": body, "isBase64Encoded": encoded}
