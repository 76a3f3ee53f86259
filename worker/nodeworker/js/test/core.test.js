'use strict';

// Tests of core.js (the @azure/functions-core module) and of the worker's
// app loading and invocation pipeline, with a programming model of the
// tests' own standing in for @azure/functions.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Core, Disposable, toRpcRetryOptions, toRpcTypedData } = require('../core.js');
const { Worker, loadApp } = require('../worker.js');
const { encode, decode } = require('../protobuf.js');

function newCore() {
  const logs = [];
  const core = new Core({ version: '9.9.9', log: (...a) => logs.push(a) });
  return { core, logs };
}

test('Disposable disposes once, and from() disposes of all', () => {
  let n = 0;
  const d = new Disposable(() => n++);
  d.dispose();
  d.dispose();
  assert.equal(n, 1);
  const all = Disposable.from(new Disposable(() => n++), new Disposable(() => n++));
  all.dispose();
  assert.equal(n, 3);
});

test('version, hostVersion and the programming model', () => {
  const { core } = newCore();
  assert.equal(core.api.version, '9.9.9');
  assert.throws(() => core.api.hostVersion, /before the host initialised/);
  core.hostVersion = '4.1040.0.0';
  assert.equal(core.api.hostVersion, '4.1040.0.0');
  const a = { name: 'a' };
  const b = { name: 'b' };
  core.api.setProgrammingModel(a);
  core.api.setProgrammingModel(b);
  assert.equal(core.api.getProgrammingModel(), b);
  assert.equal(core.api.Disposable, Disposable);
});

test('registerFunction builds the RpcFunctionMetadata', () => {
  const { core } = newCore();
  core.entryPoint = '/app/src/functions/http.js';
  core.api.registerFunction({
    name: 'hello',
    bindings: {
      req: { type: 'httpTrigger', direction: 'in', authLevel: 'anonymous', methods: ['GET'], route: 'r/{x}' },
      $return: { type: 'http', direction: 'out' },
    },
    retryOptions: { maxRetryCount: 3, retryStrategy: 'fixedDelay', delayInterval: { seconds: 10 } },
  }, () => {});
  core.entryPoint = undefined;
  core.api.registerFunction({ name: 'other', functionId: 'id-2', bindings: { t: { type: 'timerTrigger', direction: 'in', dataType: 'string' } } }, () => {});
  const rpc = core.functions.get('hello').rpc;
  assert.deepEqual(rpc, {
    functionId: 'hello',
    name: 'hello',
    directory: '/app/src/functions',
    scriptFile: 'http.js',
    language: 'node',
    rawBindings: [
      '{"type":"httpTrigger","direction":"in","authLevel":"anonymous","methods":["GET"],"route":"r/{x}","name":"req"}',
      '{"type":"http","direction":"out","name":"$return"}',
    ],
    bindings: { req: { type: 'httpTrigger', direction: 'in', dataType: undefined }, $return: { type: 'http', direction: 'out', dataType: undefined } },
    retryOptions: { maxRetryCount: 3, retryStrategy: 'fixed_delay', delayInterval: { seconds: 10, nanos: 0 } },
  });
  assert.equal(core.functions.get('id-2').rpc.name, 'other');
  // It encodes as the protocol's message.
  const back = decode('RpcFunctionMetadata', encode('RpcFunctionMetadata', core.functions.get('id-2').rpc));
  assert.equal(back.bindings.t.dataType, 'string');
  assert.equal(back.scriptFile, 'unknown');

  assert.throws(() => core.api.registerFunction({ name: 'hello', bindings: {} }, () => {}), /"hello" has already been registered/);
  assert.throws(() => core.api.registerFunction({ name: 'x', functionId: 'id-2', bindings: {} }, () => {}), /"id-2" has already/);
  assert.throws(() => core.api.registerFunction({ bindings: {} }, () => {}), /metadata.name/);
  assert.throws(() => core.api.registerFunction({ name: 'x', bindings: {} }), /callback must be a function/);
  const d = core.api.registerFunction({ name: 'gone', bindings: {} }, () => {});
  d.dispose();
  assert.equal(core.functions.has('gone'), false);
  const late = core.api.registerFunction({ name: 'late', bindings: {} }, () => {});
  core.lock();
  assert.throws(() => core.api.registerFunction({ name: 'y', bindings: {} }, () => {}), /only be registered during app startup/);
  assert.throws(() => late.dispose(), /during app startup/);
});

test('retry options and response TypedData convert to the protocol spelling', () => {
  assert.deepEqual(toRpcRetryOptions({ maxRetryCount: -1, retryStrategy: 'exponentialBackoff', minimumInterval: { seconds: 1 }, maximumInterval: { seconds: 9, nanos: 5 } }, 'f'), {
    maxRetryCount: -1, retryStrategy: 'exponential_backoff', minimumInterval: { seconds: 1, nanos: 0 }, maximumInterval: { seconds: 9, nanos: 5 },
  });
  assert.throws(() => toRpcRetryOptions({ retryStrategy: 'linear' }, 'f'), /function f: retryOptions.retryStrategy "linear"/);
  const td = toRpcTypedData({ http: { statusCode: 404, cookies: [{ name: 'a', value: 'b', sameSite: 'explicitNone' }, { name: 'c', value: 'd', sameSite: 'lax' }], body: { bytes: new Uint8Array([104, 105]) } } });
  assert.equal(td.http.statusCode, '404');
  assert.deepEqual(td.http.cookies.map((c) => c.sameSite), ['ExplicitNone', 'Lax']);
  const back = decode('TypedData', encode('TypedData', td));
  assert.equal(back.http.cookies[0].sameSite, 'ExplicitNone');
  assert.equal(Buffer.from(back.http.body.bytes).toString(), 'hi');
  assert.deepEqual(toRpcTypedData({ string: 'x' }), { string: 'x' });
  assert.equal(toRpcTypedData(undefined), undefined);
});

test('registerHook: known names, order, dispose, and a RangeError for others', async () => {
  const { core } = newCore();
  const seen = [];
  core.api.registerHook('appStart', async (ctx) => {
    await new Promise((r) => setImmediate(r));
    seen.push(`1:${ctx.n}`);
  });
  const d = core.api.registerHook('appStart', () => seen.push('2'));
  core.api.registerHook('appStart', () => seen.push('3'));
  d.dispose();
  await core.runHooks('appStart', { n: 7 });
  assert.deepEqual(seen, ['1:7', '3']);
  for (const name of ['appTerminate', 'preInvocation', 'postInvocation', 'log']) core.api.registerHook(name, () => {});
  assert.throws(() => core.api.registerHook('bogus', () => {}), (e) => e.name === 'RangeError' && e.isAzureFunctionsSystemError === true && /"bogus"/.test(e.message));
});

test('log goes through the log hooks to the sink', () => {
  const { core, logs } = newCore();
  core.api.log('information', 'system', 'plain');
  core.api.registerHook('log', (ctx) => {
    ctx.level = 'warning';
    ctx.message = `[${ctx.category}] ${ctx.message}`;
  });
  core.log('information', 'user', 'from the user', { invocationId: 'i', functionName: 'f', context: { id: 1 } });
  core.api.log('debug', 'system', 'system text');
  assert.deepEqual(logs[0], ['information', 'system', 'plain', undefined]);
  assert.deepEqual(logs[1].slice(0, 3), ['warning', 'user', '[user] from the user']);
  assert.deepEqual(logs[2], ['warning', 'system', 'system text', undefined], 'a system message is not rewritten');
});

test('install makes require return the module', () => {
  const { core } = newCore();
  core.install();
  assert.equal(require('@azure/functions-core'), core.api);
});

// A worker whose stream records what it sends.
function fakeWorker() {
  const w = new Worker({ workerId: 'w', requestId: 'r' });
  const sent = [];
  w.stream = {
    closed: false,
    write(msg) {
      // Every message must encode.
      encode('StreamingMessage', msg);
      sent.push(msg);
    },
  };
  return { w, sent };
}

// A programming model of the tests' own: the handler gets the string
// input, and the result is returned as $return.
function fakeModel(calls) {
  return {
    name: 'fake',
    version: '1.0',
    getCapabilities: async (caps) => ({ ...caps, HttpUri: 'http://localhost:1/', Extra: true }),
    getInvocationModel(coreCtx) {
      calls.push(`model ${coreCtx.metadata.name}`);
      return {
        async getArguments() {
          coreCtx.log('information', 'user', `args ${coreCtx.request.inputData[0].data.string}`);
          return { context: { functionName: coreCtx.metadata.name }, inputs: [coreCtx.request.inputData[0].data.string] };
        },
        async invokeFunction(context, inputs, handler) {
          calls.push(`state ${coreCtx.state}`);
          return handler(...inputs, context);
        },
        async getResponse(context, result) {
          return { invocationId: coreCtx.invocationId, outputData: [], returnValue: { string: String(result) } };
        },
      };
    },
  };
}

function invocation(id, fn, value) {
  return { requestId: id, content: 'invocationRequest', invocationRequest: { invocationId: id, functionId: fn, inputData: [{ name: 't', data: { string: value } }] } };
}

async function settle(sent, n) {
  for (let i = 0; i < 100 && sent.length < n; i++) await new Promise((r) => setImmediate(r));
}

test('the invocation pipeline: hooks re-read inputs, callback, result and error', async () => {
  const { w, sent } = fakeWorker();
  const calls = [];
  const api = w.core.api;
  api.setProgrammingModel(fakeModel(calls));
  api.registerFunction({ name: 'echo', bindings: { t: { type: 'queueTrigger', direction: 'in' } } }, (x) => `echo ${x}`);
  api.registerFunction({ name: 'boom', bindings: { t: { type: 'queueTrigger', direction: 'in' } } }, () => {
    throw new Error('boom failed');
  });
  api.registerHook('preInvocation', (ctx) => {
    ctx.hookData.seen = ctx.invocationContext.functionName;
    if (ctx.inputs[0] === 'swap') ctx.functionCallback = () => 'swapped';
    ctx.inputs = [ctx.inputs[0].toUpperCase()];
  });
  api.registerHook('postInvocation', (ctx) => {
    if (ctx.inputs[0] === 'RESCUE') {
      ctx.error = undefined;
      ctx.result = `rescued after ${ctx.hookData.seen}`;
    }
    if (ctx.result === 'echo CHANGE') ctx.result = 'changed';
  });

  w.handle(invocation('1', 'echo', 'a'));
  w.handle(invocation('2', 'echo', 'swap'));
  w.handle(invocation('3', 'echo', 'change'));
  w.handle(invocation('4', 'boom', 'x'));
  w.handle(invocation('5', 'boom', 'rescue'));
  w.handle(invocation('6', 'nope', 'x'));
  await settle(sent.filter((m) => m.invocationResponse), 6);
  const responses = Object.fromEntries(sent.filter((m) => m.invocationResponse).map((m) => [m.requestId, m.invocationResponse]));
  assert.equal(responses['1'].returnValue.string, 'echo A');
  assert.equal(responses['1'].result.status, 'Success');
  assert.equal(responses['2'].returnValue.string, 'swapped');
  assert.equal(responses['3'].returnValue.string, 'changed');
  assert.equal(responses['4'].result.status, 'Failure');
  assert.equal(responses['4'].result.exception.message, 'boom failed');
  assert.match(responses['4'].result.exception.stackTrace, /core\.test\.js/);
  assert.equal(responses['5'].returnValue.string, 'rescued after boom');
  assert.match(responses['6'].result.exception.message, /function id "nope" is not registered/);
  assert.ok(calls.includes('state invocation'));
  const log = sent.find((m) => m.rpcLog && m.rpcLog.message === 'args a').rpcLog;
  assert.deepEqual(log, { invocationId: '1', category: 'echo.Invocation', level: 'Information', message: 'args a', logCategory: 'User' });
});

test('metadata and load responses, locking, and capabilities from the model', async () => {
  const { w, sent } = fakeWorker();
  w.core.api.setProgrammingModel(fakeModel([]));
  w.core.api.registerFunction({ name: 'f', bindings: {} }, () => {});
  w.handle({ requestId: 'init', content: 'workerInitRequest', workerInitRequest: { hostVersion: '4.1' } });
  await settle(sent.filter((m) => m.workerInitResponse), 1);
  const init = sent.find((m) => m.workerInitResponse).workerInitResponse;
  assert.equal(init.capabilities.HttpUri, 'http://localhost:1/');
  assert.equal(init.capabilities.Extra, 'true');
  assert.equal(init.capabilities.WorkerStatus, 'true');
  assert.deepEqual(init.workerMetadata.customProperties, { modelName: 'fake', modelVersion: '1.0' });
  assert.equal(w.core.api.hostVersion, '4.1');

  w.handle({ requestId: 'md', content: 'functionsMetadataRequest', functionsMetadataRequest: {} });
  const md = sent.find((m) => m.functionMetadataResponse).functionMetadataResponse;
  assert.equal(md.useDefaultMetadataIndexing, false);
  assert.deepEqual(md.functionMetadataResults.map((f) => f.functionId), ['f']);
  assert.throws(() => w.core.api.registerFunction({ name: 'g', bindings: {} }, () => {}), /during app startup/);
  w.handle({ requestId: 'l1', content: 'functionLoadRequest', functionLoadRequest: { functionId: 'f' } });
  w.handle({ requestId: 'l2', content: 'functionLoadRequest', functionLoadRequest: { functionId: 'v3', metadata: { name: 'v3fn' } } });
  const loads = sent.filter((m) => m.functionLoadResponse).map((m) => m.functionLoadResponse);
  assert.equal(loads[0].result.status, 'Success');
  assert.equal(loads[1].result.status, 'Failure');
  assert.match(loads[1].result.exception.message, /function v3fn was not registered by the app/);
});

function appDir(files) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'app-'));
  for (const [f, text] of Object.entries(files)) {
    fs.mkdirSync(path.join(dir, path.dirname(f)), { recursive: true });
    fs.writeFileSync(path.join(dir, f), text);
  }
  return dir;
}

const REGISTER = (name) => `require('@azure/functions-core').registerFunction({ name: '${name}', bindings: {} }, () => {});\n`;
// An ES module may import the core module, or require it as the library
// (a CommonJS bundle) does even when an ES module imports the library.
const REGISTER_ESM = (name) => `import core from '@azure/functions-core';\ncore.registerFunction({ name: '${name}', bindings: {} }, () => {});\n`;
const REGISTER_ESM_NAMED = (name) => `import { registerFunction } from '@azure/functions-core';\nregisterFunction({ name: '${name}', bindings: {} }, () => {});\n`;
const REGISTER_ESM_REQUIRE = (name) => `import { createRequire } from 'node:module';\nconst core = createRequire(import.meta.url)('@azure/functions-core');\ncore.registerFunction({ name: '${name}', bindings: {} }, () => {});\n`;

test('loadApp: CommonJS, ES modules by extension and type, entry files', async () => {
  const { core } = newCore();
  core.install();
  const dir = appDir({
    'package.json': JSON.stringify({ main: 'src/{index.js,functions/*.{js,mjs,cjs}}', type: 'module' }),
    'src/index.js': REGISTER_ESM('index'),
    'src/functions/a.js': REGISTER_ESM_NAMED('a'),
    'src/functions/b.mjs': REGISTER_ESM_REQUIRE('b'),
    'src/functions/c.cjs': REGISTER('c'),
  });
  const warnings = [];
  const files = await loadApp(core, dir, (m) => warnings.push(m));
  assert.deepEqual(files, ['src/index.js', 'src/functions/a.js', 'src/functions/b.mjs', 'src/functions/c.cjs']);
  assert.deepEqual([...core.functions.keys()], ['index', 'a', 'b', 'c']);
  assert.equal(core.functions.get('c').rpc.scriptFile, 'c.cjs');
  assert.equal(core.functions.get('b').rpc.directory, path.join(dir, 'src', 'functions'));
  assert.deepEqual(warnings, []);
});

test('loadApp: no main, bad package.json, zero matches, a failing file', async () => {
  const { core } = newCore();
  core.install();
  const warnings = [];
  const warn = (m) => warnings.push(m);
  assert.deepEqual(await loadApp(core, appDir({ 'package.json': '{}' }), warn), []);
  assert.deepEqual(await loadApp(core, appDir({}), warn), []);
  assert.deepEqual(await loadApp(core, appDir({ 'package.json': '{nope' }), warn), []);
  assert.deepEqual(await loadApp(core, appDir({ 'package.json': '{"main": 3}' }), warn), []);
  assert.match(warnings[0], /package\.json not found/);
  assert.match(warnings[1], /package\.json is not valid JSON/);
  assert.match(warnings[2], /"main" is a number, want a string/);

  const empty = appDir({ 'package.json': '{"main": "dist/*.js"}' });
  await assert.rejects(loadApp(core, empty, warn), new RegExp(`"main" "dist/\\*\\.js" matches no file in ${empty}`));
  const broken = appDir({ 'package.json': '{"main": "*.js"}', 'a.js': 'module.exports = 1;', 'b.js': 'null.x;', 'c.js': REGISTER('never') });
  await assert.rejects(loadApp(core, broken, warn), (e) => /unable to load b\.js \(package.json "main" "\*\.js"\): Cannot read properties of null/.test(e.message) && /b\.js:1/.test(e.stack));
  assert.equal(core.functions.has('never'), false, 'loading stops at the failing file');
});

test('FunctionEnvironmentReloadRequest replaces the environment, changes folder and loads the app', async () => {
  const saved = { ...process.env };
  const cwd = process.cwd();
  try {
    const { w, sent } = fakeWorker();
    w.core.install();
    const dir = fs.realpathSync(appDir({ 'package.json': '{"main": "index.js"}', 'index.js': REGISTER('reloaded') }));
    process.env.FUNCD_TEST_GONE = 'x';
    w.handle({
      requestId: 'rl',
      content: 'functionEnvironmentReloadRequest',
      functionEnvironmentReloadRequest: { environmentVariables: { FUNCD_TEST_NEW: 'y', PATH: saved.PATH || '' }, functionAppDirectory: dir },
    });
    await settle(sent.filter((m) => m.functionEnvironmentReloadResponse), 1);
    const r = sent.find((m) => m.functionEnvironmentReloadResponse).functionEnvironmentReloadResponse;
    assert.equal(r.result.status, 'Success');
    assert.equal(r.capabilitiesUpdateStrategy, 'replace');
    assert.equal(r.capabilities.WorkerStatus, 'true');
    assert.equal(process.env.FUNCD_TEST_NEW, 'y');
    assert.equal(process.env.FUNCD_TEST_GONE, undefined);
    assert.equal(process.cwd(), dir);
    assert.deepEqual([...w.core.functions.keys()], ['reloaded']);
  } finally {
    for (const k of Object.keys(process.env)) delete process.env[k];
    Object.assign(process.env, saved);
    process.chdir(cwd);
  }
});
