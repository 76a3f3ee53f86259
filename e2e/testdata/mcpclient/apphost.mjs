#!/usr/bin/env node
// A minimal MCP Apps host for tests: it runs an MCP App view's scripts
// (the HTML document on stdin) in a sandbox with a stand-in window and
// document, plays the host's side of the MCP Apps protocol over
// postMessage (answers ui/initialize, waits for
// ui/notifications/initialized, then sends ui/notifications/tool-input and
// ui/notifications/tool-result), and prints one JSON document: the
// messages the view sent and the text of each element it changed.
//
//   node apphost.mjs '<tool arguments JSON>' '<CallToolResult JSON>' < view.html

import { readFileSync } from 'node:fs';
import vm from 'node:vm';

const [argsJSON, resultJSON] = process.argv.slice(2);
if (!argsJSON || !resultJSON) {
  process.stderr.write("usage: node apphost.mjs '<arguments>' '<CallToolResult>' < view.html\n");
  process.exit(2);
}
const html = readFileSync(0, 'utf8');
const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]);

const elements = new Map();
const element = (id) => {
  if (!elements.has(id)) elements.set(id, { id, textContent: '', style: {} });
  return elements.get(id);
};
const sent = [];
const listeners = [];
const parent = {
  // What the view posts to its host.
  postMessage(msg) {
    sent.push(msg);
    setImmediate(() => hostReceive(msg));
  },
};
const window = {
  parent,
  addEventListener(type, fn) {
    if (type === 'message') listeners.push(fn);
  },
};
const document = {
  getElementById: element,
  documentElement: { scrollHeight: 120, style: {} },
};
// The host posts to the view.
const toView = (data) => setImmediate(() => listeners.forEach((fn) => fn({ source: parent, data })));

let initialized;
const ready = new Promise((resolve) => (initialized = resolve));
function hostReceive(msg) {
  if (msg.method === 'ui/initialize') {
    toView({
      jsonrpc: '2.0',
      id: msg.id,
      result: {
        protocolVersion: msg.params.protocolVersion,
        hostInfo: { name: 'funcd-test-host', version: '1.0.0' },
        hostCapabilities: {},
        hostContext: { theme: 'dark', displayMode: 'inline' },
      },
    });
  } else if (msg.method === 'ui/notifications/initialized') {
    initialized();
  }
}

const context = vm.createContext({ window, document, console, Map, Promise, JSON, setTimeout });
for (const s of scripts) vm.runInContext(s, context);

const timeout = setTimeout(() => {
  process.stdout.write(JSON.stringify({ error: 'the view did not initialize', sent }) + '\n');
  process.exit(1);
}, 5000);
await ready;
toView({ jsonrpc: '2.0', method: 'ui/notifications/tool-input', params: { arguments: JSON.parse(argsJSON) } });
toView({ jsonrpc: '2.0', method: 'ui/notifications/tool-result', params: JSON.parse(resultJSON) });
await new Promise((r) => setTimeout(r, 50));
clearTimeout(timeout);
const text = Object.fromEntries([...elements].map(([id, e]) => [id, e.textContent]));
process.stdout.write(JSON.stringify({ sent, text, colorScheme: document.documentElement.style.colorScheme }) + '\n');
