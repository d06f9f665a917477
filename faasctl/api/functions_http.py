"""`ANY /function/NAME[/PATH]`: functions called over HTTP, as OpenFaaS's gateway calls them.

The request (method, path below the function, query, headers, body) travels to the
runner beside the params, never inside them. `lambda` and `openfaas-http` functions see
it in their own shapes and answer with a status, headers and a body (API Gateway's proxy
response; runner/faasctl_http.py); other kinds get the body as params (JSON, or text; no
body: the query's parameters) and answer 200 with their result. The body-size cap and
the token are serve's guards, and the call is recorded like any other; its number comes
back in `X-Faasctl-Call`.

Kept out of /openapi.json: what a function answers is the function's, not the API's,
so no schema can describe it (docs/api.md and docs/functions.md do).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Annotated, Any
from urllib.parse import parse_qsl

from faasctl_agent.kinds import HTTP_KINDS
from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import JSONResponse

from ..core import invoke, listing
from ..core.names import NAME_MAX
from ..errors import InvalidInput
from .deps import core_of
from .models import ErrorBody

router = APIRouter(tags=["http-functions"])
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
# Not passed on: serve's own token, and what belongs to one hop of HTTP only.
DROPPED = {"authorization", "connection", "keep-alive", "proxy-authorization", "te", "trailer",
           "transfer-encoding", "upgrade"}
NOT_RETURNED = {"content-length", "transfer-encoding", "connection"}  # serve frames the response itself
TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # a header name HTTP allows; others are dropped
BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # no header splitting by a function's answer
Name = Annotated[str, Path(min_length=1, max_length=NAME_MAX, description="A function name")]
SEES_REQUEST = (*HTTP_KINDS, "openfaas")  # the classic template reads the raw body (and Http_* variables)


def http_request(request: Request, path: str, body: bytes) -> dict[str, Any]:
    return {"method": request.method, "path": "/" + path, "query": request.url.query,
            "headers": [[k, v] for k, v in request.headers.items() if k not in DROPPED],
            "body": base64.b64encode(body).decode(), "source_ip": request.client.host if request.client else ""}


def params_of(kind: str, body: bytes, query: str) -> Any:
    """The params a call through HTTP records (and native and openwhisk functions get)."""
    if not body:
        return dict(parse_qsl(query, keep_blank_values=True))
    try:
        text = body.decode()
    except UnicodeDecodeError:
        if kind in SEES_REQUEST:
            return None  # the function reads the body itself
        raise InvalidInput(f"a {kind} function takes a JSON or text body, not binary data",
                           "send JSON; binary bodies are for lambda and openfaas-http functions") from None
    try:
        return json.loads(text)
    except ValueError:
        return text


def proxy_response(result: str) -> dict[str, Any] | None:
    """API Gateway's proxy response (statusCode, headers, multiValueHeaders, body,
    isBase64Encoded) from a call's result, or None when the result is not one."""
    try:
        value = json.loads(result)
    except ValueError:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("statusCode"), int):
        return None
    if not 200 <= value["statusCode"] <= 599:  # a 1xx is no final answer
        return None
    return value


def error_response(status: int, error: str, hint: str, headers: dict[str, str]) -> JSONResponse:
    """The API's error shape (app.error_response; that module imports this one)."""
    return JSONResponse(ErrorBody(error=error, hint=hint).model_dump(exclude_none=True), status_code=status,
                        headers=headers)


def _proxied(record: dict[str, Any], headers: dict[str, str]) -> Response:
    proxy = proxy_response(record["result"])
    if proxy is None:
        return error_response(502, f"call {record['callNum']}: the function's answer is not an HTTP response "
                              "(a dict with an integer statusCode, headers and body)",
                              "return {'statusCode': 200, 'body': '...'} (API Gateway's proxy response)",
                              headers)
    body = proxy.get("body")
    text = "" if body is None else body if isinstance(body, str) else json.dumps(body)
    try:
        content = base64.b64decode(text, validate=True) if proxy.get("isBase64Encoded") else text.encode()
    except (binascii.Error, ValueError):
        return error_response(502, f"call {record['callNum']}: isBase64Encoded is set but the body is not base64",
                              "encode the body with base64, or leave isBase64Encoded false", headers)
    status = proxy["statusCode"]
    response = Response(b"" if status in (204, 304) else content, status_code=status, headers=headers)
    given: list[tuple[str, str]] = []
    multi: dict[str, Any] = _mapping(proxy.get("multiValueHeaders"))
    for key, values in multi.items():
        given += [(str(key), str(v)) for v in (values if isinstance(values, list) else [values])]
    single: dict[str, Any] = _mapping(proxy.get("headers"))
    given += [(str(k), str(v)) for k, v in single.items() if k not in multi]
    response.raw_headers += [(k.lower().encode("latin-1"), v.encode("latin-1", "replace")) for k, v in given
                             if k.lower() not in NOT_RETURNED and TOKEN.match(k) and not BAD_VALUE.search(v)]
    return response


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def respond(kind: str, record: dict[str, Any]) -> Response:
    headers = {"X-Faasctl-Call": str(record["callNum"])}
    n = record["callNum"]
    if record["status"] == "TIMEOUT":
        return error_response(504, f"call {n} timed out: {record['error']}",
                              "raise the limit with `faasctl fn deploy ... --timeout SECONDS`", headers)
    if record["status"] != "DONE":
        last = (record["error"].strip().splitlines() or [""])[-1]
        return error_response(500, f"call {n} failed: {last}", f"see `faasctl logs {n}` and `faasctl call get {n}`",
                              headers)
    if kind in HTTP_KINDS:
        return _proxied(record, headers)
    result = record["result"]
    try:
        json.loads(result)
        media = "application/json"
    except ValueError:
        media = "text/plain; charset=utf-8"
    return Response(result, status_code=200, media_type=media, headers=headers)


async def call_function(name: Name, request: Request, path: str = "") -> Response:
    """Call a function with this HTTP request and answer with its response."""
    body = await request.body()
    core = core_of(request)
    kind = await core(listing.function_kind, name)
    params = params_of(kind, body, request.url.query)
    http = http_request(request, path, body) if kind in SEES_REQUEST else None
    record = await core(invoke.invoke, name, params, http=http)
    return respond(kind, record)


for _path in ("/function/{name}", "/function/{name}/{path:path}"):
    router.add_api_route(_path, call_function, methods=METHODS, include_in_schema=False)
