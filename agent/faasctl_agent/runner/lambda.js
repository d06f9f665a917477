'use strict';
/*
 * `--kind lambda` for Node.js: AWS Lambda's documented Node.js handler contract, so a
 * handler copied from Lambda runs as is. `exports.handler = async (event, context)`, or
 * the older `(event, context, callback)`; the context has Lambda's fields and the
 * reserved environment variables are set. An error is shaped like Lambda's
 * (errorType, errorMessage, stackTrace). There is no IAM and no CloudWatch here. A call
 * that carries an HTTP request (serve's /function/NAME) gets it as API Gateway's proxy
 * event (REST API, payload 1.0), the shape runner.py's faasctl_http.py makes.
 */

function splitHandler(handler) {
  // "index.handler" -> ["index", ["handler"]]; "src/app.main" -> ["src/app", ["main"]];
  // as Lambda reads it: the module is everything before the first dot of the last part.
  const slash = handler.lastIndexOf('/');
  const dir = handler.slice(0, slash + 1);
  const [file, ...names] = handler.slice(slash + 1).split('.');
  if (!file || names.length === 0 || names.some((n) => !n)) {
    throw new Error(`handler ${handler} is not MODULE.FUNCTION (Lambda's form, e.g. index.handler)`);
  }
  return [dir + file, names];
}

function pick(mod, names, handler) {
  let fn = mod;
  for (const name of names) fn = fn == null ? undefined : (fn[name] !== undefined ? fn[name] : (fn.default || {})[name]);
  if (typeof fn !== 'function') throw new Error(`${handler}: the module exports no function ${names.join('.')}`);
  return fn;
}

function names(init) {
  // init.function: {name, version, memory_mb, timeout}, sent by the agent (workers.kind_init)
  const f = init.function || {};
  const fn = String(f.name || 'function');
  const version = String(f.version || '$LATEST');
  return { fn, version, memory: String(f.memory_mb || 256), timeout: Number(f.timeout || 30),
           arn: `arn:aws:lambda:local:000000000000:function:${fn}`, group: `/aws/lambda/${fn}` };
}

function setEnv(init, root) {
  const n = names(init);
  Object.assign(process.env, {
    AWS_LAMBDA_FUNCTION_NAME: n.fn,
    AWS_LAMBDA_FUNCTION_VERSION: n.version,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: n.memory,
    AWS_LAMBDA_LOG_GROUP_NAME: n.group,
    AWS_LAMBDA_LOG_STREAM_NAME: stream(n.version),
    _HANDLER: String(init.handler || 'index.handler'),
    LAMBDA_TASK_ROOT: root,
  });
}

function stream(version) {
  const day = new Date().toISOString().slice(0, 10).replace(/-/g, '/');
  return `${day}/[${version}]${require('os').hostname()}`;
}

function context(init, call) {
  const n = names(init);
  const requestId = call.id;
  const deadline = call.deadline ? Number(call.deadline) * 1000 : Date.now() + n.timeout * 1000;
  return {
    functionName: n.fn,
    functionVersion: n.version,
    invokedFunctionArn: n.arn,
    memoryLimitInMB: n.memory,
    awsRequestId: String(requestId || ''),
    logGroupName: n.group,
    logStreamName: stream(n.version),
    identity: undefined,
    clientContext: undefined,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
}

function invoke(fn, event, ctx) {
  // An async handler's promise, or the callback (also context.done/succeed/fail) of an
  // older one; a plain function that takes no callback answers with what it returns.
  return new Promise((resolve, reject) => {
    const callback = (err, value) => (err ? reject(err) : resolve(value));
    ctx.done = callback;
    ctx.succeed = (value) => callback(null, value);
    ctx.fail = (err) => callback(err || new Error('failed'));
    const out = fn(event, ctx, callback);
    if (out && typeof out.then === 'function') out.then(resolve, reject);
    else if (fn.length < 3) resolve(out);
  });
}

function errorShape(err, requestId) {
  if (err instanceof Error) {
    return {
      errorType: err.name || 'Error',
      errorMessage: String(err.message),
      requestId: String(requestId || ''),
      stackTrace: String(err.stack || '').split('\n').slice(1).map((line) => line.trim()).filter(Boolean),
    };
  }
  return { errorType: typeof err === 'string' ? 'string' : typeof err, errorMessage: String(err),
           requestId: String(requestId || ''), stackTrace: [] };
}

function event(call) {
  // The call's params, or its HTTP request as API Gateway's proxy event; a repeated header
  // or query key keeps its last value there, all of them in multiValue*.
  const http = call.http;
  if (!http) return call.params === undefined ? null : call.params;
  const headers = {};
  const multi = {};
  for (const [name, value] of http.headers || []) {
    headers[name] = value;
    (multi[name] = multi[name] || []).push(value);
  }
  const lists = {};
  for (const [key, value] of new URLSearchParams(http.query || '')) (lists[key] = lists[key] || []).push(value);
  const keys = Object.keys(lists);
  const raw = Buffer.from(http.body || '', 'base64');
  const text = raw.toString('utf8');
  const utf8 = Buffer.from(text, 'utf8').equals(raw);
  const path = http.path || '/';
  const method = http.method || 'GET';
  return {
    resource: '/{proxy+}', path, httpMethod: method, headers, multiValueHeaders: multi,
    queryStringParameters: keys.length ? Object.fromEntries(keys.map((k) => [k, lists[k][lists[k].length - 1]])) : null,
    multiValueQueryStringParameters: keys.length ? lists : null,
    pathParameters: path.replace(/^\/+|\/+$/g, '') ? { proxy: path.replace(/^\/+/, '') } : null,
    stageVariables: null,
    requestContext: {
      resourcePath: '/{proxy+}', httpMethod: method, path, stage: 'faasctl', requestId: String(call.id || ''),
      requestTimeEpoch: Date.now(), protocol: 'HTTP/1.1', identity: { sourceIp: http.source_ip || '' },
    },
    body: raw.length ? (utf8 ? text : raw.toString('base64')) : null,
    isBase64Encoded: raw.length > 0 && !utf8,
  };
}

module.exports = { splitHandler, pick, setEnv, context, invoke, errorShape, event };
