#!/usr/bin/env node
// An MCP client on the official TypeScript SDK: it connects to one server,
// runs a list of steps and prints one JSON document with what each step
// returned, for tests to assert on.
//
//   node client.mjs <url> <http|sse> [key] [steps]
//
// url is the server's endpoint (http://127.0.0.1:7071/runtime/webhooks/mcp);
// with sse the client opens <url>/sse. key, when given and not empty, goes
// in an x-functions-key header on every request. steps is a JSON array,
// from the last argument or, without one, from stdin:
//
//   [{"op":"listTools"}, {"op":"listResources"}, {"op":"listResourceTemplates"},
//    {"op":"callTool","name":"node_echo","args":{"message":"hi"}},
//    {"op":"readResource","uri":"ui://node/widget.html"}, {"op":"ping"}]
//
// The document on stdout:
//
//   {"transport":"http","protocolVersion":"2025-06-18","sessionId":"…",
//    "endpoint":"…" (sse: the message endpoint the server announced),
//    "serverInfo":{…},"capabilities":{…},"instructions":"…",
//    "steps":[{"op":"listTools","result":{…}}, {"op":"callTool","error":{"code":-32602,"message":"…"}}, …]}
//
// A step's error carries the JSON-RPC error code and message (with its
// data, if any), or, for an HTTP failure, the status as the code. When connecting fails the
// document has "error" instead of steps and the exit code is 1. Bad
// arguments or steps exit 2 with a message on stderr.

import { readFileSync } from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';

const USAGE = 'usage: node client.mjs <url> <http|sse> [key] [steps JSON array; default: stdin]';
const REQUEST_TIMEOUT_MS = 30_000;

function usage(msg) {
  process.stderr.write(`client.mjs: ${msg}\n${USAGE}\n`);
  process.exit(2);
}

// parseArgs returns {url, transport, key, stepsText}.
function parseArgs(argv) {
  if (argv.length < 2 || argv.length > 4) usage(`want 2 to 4 arguments, got ${argv.length}`);
  const [rawURL, transport, ...rest] = argv;
  let url;
  try {
    url = new URL(rawURL);
  } catch {
    usage(`the url ${JSON.stringify(rawURL)} is not an absolute URL`);
  }
  if (transport !== 'http' && transport !== 'sse') usage(`the transport ${JSON.stringify(transport)} is neither "http" nor "sse"`);
  let key = '';
  let stepsText;
  if (rest.length === 2) {
    [key, stepsText] = rest;
  } else if (rest.length === 1) {
    // One more argument: steps when it is a JSON array, else the key.
    if (rest[0].trimStart().startsWith('[')) stepsText = rest[0];
    else key = rest[0];
  }
  if (stepsText === undefined) stepsText = readFileSync(0, 'utf8');
  return { url, transport, key, stepsText };
}

const OPS = {
  listTools: [],
  listResources: [],
  listResourceTemplates: [],
  callTool: ['name'],
  readResource: ['uri'],
  ping: [],
};

// parseSteps checks the steps: an array of objects, each with a known op
// and the fields that op needs.
function parseSteps(text) {
  let steps;
  try {
    steps = JSON.parse(text);
  } catch (err) {
    usage(`the steps are not JSON: ${err.message}`);
  }
  if (!Array.isArray(steps)) usage('the steps must be a JSON array');
  steps.forEach((s, i) => {
    if (s === null || typeof s !== 'object' || Array.isArray(s)) usage(`steps[${i}] must be an object`);
    if (!Object.hasOwn(OPS, s.op)) usage(`steps[${i}].op ${JSON.stringify(s.op)} is not one of ${Object.keys(OPS).join(', ')}`);
    for (const f of OPS[s.op]) {
      if (typeof s[f] !== 'string' || s[f] === '') usage(`steps[${i}] (${s.op}) needs a non-empty string "${f}"`);
    }
    if (s.op === 'callTool' && s.args !== undefined && (s.args === null || typeof s.args !== 'object' || Array.isArray(s.args))) {
      usage(`steps[${i}].args must be an object`);
    }
  });
  return steps;
}

// errorOf reports an error as {code, message}: a JSON-RPC error's code and
// the server's message, an HTTP failure's status, or the message alone.
function errorOf(err) {
  if (err instanceof McpError) {
    const prefix = `MCP error ${err.code}: `;
    const message = err.message.startsWith(prefix) ? err.message.slice(prefix.length) : err.message;
    const out = { code: err.code, message };
    if (err.data !== undefined) out.data = err.data;
    return out;
  }
  let message = err && err.message !== undefined ? String(err.message) : String(err);
  // fetch hides why it failed (a refused connection) in the cause.
  if (err && err.cause && err.cause.message) message += `: ${err.cause.message}`;
  const out = { message };
  if (err && typeof err.code === 'number') out.code = err.code;
  if (err && err.name && err.name !== 'Error') out.name = err.name;
  return out;
}

async function runStep(client, step) {
  const options = { timeout: REQUEST_TIMEOUT_MS };
  switch (step.op) {
    case 'listTools':
      return client.listTools(undefined, options);
    case 'listResources':
      return client.listResources(undefined, options);
    case 'listResourceTemplates':
      return client.listResourceTemplates(undefined, options);
    case 'callTool':
      return client.callTool({ name: step.name, arguments: step.args ?? {} }, undefined, options);
    case 'readResource':
      return client.readResource({ uri: step.uri }, options);
    case 'ping':
      return client.ping(options);
  }
  throw new Error(`unknown op ${step.op}`);
}

async function main() {
  const { url, transport: kind, key, stepsText } = parseArgs(process.argv.slice(2));
  const steps = parseSteps(stepsText);
  const requestInit = key === '' ? undefined : { headers: { 'x-functions-key': key } };
  let transport;
  if (kind === 'sse') {
    const sseURL = new URL(url);
    sseURL.pathname = sseURL.pathname.replace(/\/+$/, '') + '/sse';
    transport = new SSEClientTransport(sseURL, { requestInit });
  } else {
    transport = new StreamableHTTPClientTransport(url, { requestInit });
  }
  // The client hands the negotiated version to the transport.
  let protocolVersion;
  const setProtocolVersion = transport.setProtocolVersion?.bind(transport);
  transport.setProtocolVersion = (v) => {
    protocolVersion = v;
    if (setProtocolVersion) setProtocolVersion(v);
  };

  const client = new Client({ name: 'funcd-mcpclient', version: '1.0.0' });
  const doc = { transport: kind };
  let code = 0;
  try {
    await client.connect(transport, { timeout: REQUEST_TIMEOUT_MS });
    doc.protocolVersion = protocolVersion;
    doc.sessionId = transport.sessionId;
    // The SSE transport keeps the endpoint the server announced.
    if (kind === 'sse' && transport._endpoint) doc.endpoint = transport._endpoint.href;
    doc.serverInfo = client.getServerVersion();
    doc.capabilities = client.getServerCapabilities();
    doc.instructions = client.getInstructions();
    doc.steps = [];
    for (const step of steps) {
      try {
        doc.steps.push({ op: step.op, result: await runStep(client, step) });
      } catch (err) {
        doc.steps.push({ op: step.op, error: errorOf(err) });
      }
    }
  } catch (err) {
    doc.error = errorOf(err);
    code = 1;
  }
  try {
    await client.close();
  } catch {
    // Closing a broken connection has nothing more to tell.
  }
  process.stdout.write(JSON.stringify(doc) + '\n');
  process.exitCode = code;
}

await main();
