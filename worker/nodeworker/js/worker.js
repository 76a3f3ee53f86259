'use strict';

// funcd's Node.js language worker: the program the host starts as
// `node worker.js <flags>`. It dials the host's FunctionRpc server, opens
// the EventStream and answers the host's requests. It needs nothing but
// Node itself.
//
// It runs apps of the @azure/functions v4 programming model with the app's
// own copy of the library: the library registers the app's functions,
// hooks and its programming model with the @azure/functions-core module
// (core.js) while the worker loads the files package.json's "main" names,
// and each invocation goes through that programming model:
// getArguments, preInvocation hooks, the function, postInvocation hooks,
// getResponse. An app that registers no function gets the host's own
// index (use_default_metadata_indexing), whose function.json functions the
// worker refuses to load: v3 apps are not supported.
//
// Flags (both sets the Functions host passes; the --functions-* ones win):
//   --functions-uri http://127.0.0.1:PORT/   or  --host H --port P
//   --functions-worker-id ID                 or  --workerId ID
//   --functions-request-id ID                or  --requestId ID
//   --functions-grpc-max-message-length N    or  --grpcMaxMessageLength N
//
// System logs go to the host as RpcLog (category System) once the stream
// is open, and always to stderr as lines starting with
// LanguageWorkerConsoleLog.

const fs = require('node:fs');
const path = require('node:path');
const { pathToFileURL } = require('node:url');
const { EventStream } = require('./grpc.js');
const { Core, toProtoEnum, toRpcTypedData } = require('./core.js');
const { glob } = require('./glob.js');

const WORKER_VERSION = '0.1.0';

// The capabilities the worker reports in WorkerInitResponse: each shapes
// the data the host sends.
const CAPABILITIES = {
  RawHttpBodyBytes: 'true',
  RpcHttpBodyOnly: 'true',
  RpcHttpTriggerMetadataRemoved: 'true',
  IgnoreEmptyValuedRpcHttpHeaders: 'true',
  UseNullableValueDictionaryForHttp: 'true',
  TypedDataCollection: 'true',
  WorkerStatus: 'true',
  HandlesWorkerTerminateMessage: 'true',
};

const FLAGS = {
  'functions-uri': 'uri',
  'functions-worker-id': 'workerId',
  'functions-request-id': 'requestId',
  'functions-grpc-max-message-length': 'maxMessageLength',
  host: 'host',
  port: 'port',
  workerId: 'legacyWorkerId',
  requestId: 'legacyRequestId',
  grpcMaxMessageLength: 'legacyMaxMessageLength',
};

// parseArgs reads the launch flags (--name value or --name=value; unknown
// flags are ignored) and returns {uri, workerId, requestId,
// maxMessageLength}; it throws when one is missing or invalid.
function parseArgs(argv) {
  const raw = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) continue;
    let name = a.slice(2);
    let value;
    const eq = name.indexOf('=');
    if (eq >= 0) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    } else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) {
      value = argv[++i];
    } else {
      value = '';
    }
    if (Object.prototype.hasOwnProperty.call(FLAGS, name)) raw[FLAGS[name]] = value;
  }
  let uri = raw.uri;
  if (!uri && raw.host && raw.port) {
    const host = raw.host.includes(':') && !raw.host.startsWith('[') ? `[${raw.host}]` : raw.host;
    uri = `http://${host}:${raw.port}/`;
  }
  const out = {
    uri,
    workerId: raw.workerId || raw.legacyWorkerId,
    requestId: raw.requestId || raw.legacyRequestId,
    maxMessageLength: undefined,
  };
  const missing = [];
  if (!out.uri) missing.push('--functions-uri (or --host and --port)');
  if (!out.workerId) missing.push('--functions-worker-id');
  if (!out.requestId) missing.push('--functions-request-id');
  if (missing.length) throw new Error(`missing ${missing.join(', ')}`);
  try {
    new URL(out.uri);
  } catch {
    throw new Error(`--functions-uri ${out.uri} is not a URL`);
  }
  const max = raw.maxMessageLength || raw.legacyMaxMessageLength;
  if (max) {
    const n = Number(max);
    if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`--functions-grpc-max-message-length ${max} is not a positive integer`);
    out.maxMessageLength = n;
  }
  return out;
}

// consoleLog writes a system log line for the host to pick up on stderr.
function consoleLog(level, message) {
  process.stderr.write(`LanguageWorkerConsoleLog[${level}] ${String(message).replace(/\n/g, '\n  ')}\n`);
}

// readPackageJson returns the "main" and "type" strings of dir's
// package.json; a missing or invalid file or field is reported to warn
// and left out.
function readPackageJson(dir, warn) {
  const file = path.join(dir, 'package.json');
  let pkg;
  try {
    pkg = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    warn(err.code === 'ENOENT' ? `${file} not found` : `${file} is not valid JSON: ${err.message}`);
    return {};
  }
  const out = {};
  for (const k of ['main', 'type']) {
    if (pkg === null || typeof pkg !== 'object' || pkg[k] === undefined) continue;
    if (typeof pkg[k] === 'string') out[k] = pkg[k];
    else warn(`${file}: "${k}" is a ${typeof pkg[k]}, want a string; ignoring it`);
  }
  return out;
}

// isESM reports whether file is an ES module: a .mjs file, or any file but
// a .cjs one when package.json has "type": "module".
function isESM(file, type) {
  const ext = path.extname(file);
  return ext === '.mjs' || (type === 'module' && ext !== '.cjs');
}

// loadApp loads the app in dir: the files package.json's "main" matches,
// in order, CommonJS through require and ES modules through import. It
// returns the files loaded (none when there is no "main": the host then
// indexes function.json files) and throws on zero matches or the first
// file that fails to load.
async function loadApp(core, dir, warn) {
  const pkg = readPackageJson(dir, warn);
  if (!pkg.main) return [];
  let files;
  try {
    files = glob(pkg.main, dir);
  } catch (err) {
    throw new Error(`${path.join(dir, 'package.json')}: "main" ${JSON.stringify(pkg.main)}: ${err.message}`);
  }
  if (files.length === 0) {
    throw new Error(`${path.join(dir, 'package.json')}: "main" ${JSON.stringify(pkg.main)} matches no file in ${dir}`);
  }
  for (const rel of files) {
    const file = path.resolve(dir, rel);
    core.entryPoint = file;
    try {
      if (isESM(file, pkg.type)) await import(pathToFileURL(file).href);
      else require(file);
    } catch (err) {
      const e = new Error(`unable to load ${rel} (package.json "main" ${JSON.stringify(pkg.main)}): ${err && err.message ? err.message : err}`);
      if (err && err.stack) e.stack = `${e.message}\n${String(err.stack).split('\n').slice(1).join('\n')}`;
      throw e;
    } finally {
      core.entryPoint = undefined;
    }
  }
  return files;
}

// rpcException is the RpcException of a thrown value.
function rpcException(err) {
  if (err instanceof Error) return { message: err.message, stackTrace: err.stack || '' };
  return { message: String(err) };
}

function failure(err) {
  return { status: 'Failure', exception: rpcException(err) };
}

const LEVELS = new Set(['Trace', 'Debug', 'Information', 'Warning', 'Error', 'Critical', 'None']);
const LOG_CATEGORIES = new Set(['User', 'System', 'CustomMetric']);

class Worker {
  constructor(opts) {
    this.opts = opts;
    this.stream = null;
    this.exiting = false;
    this.core = new Core({ version: WORKER_VERSION, log: (level, category, message, inv) => this.coreLog(level, category, message, inv) });
    this.appDir = undefined;
    this.loadError = undefined; // the app's load error, reported with the metadata
  }

  start() {
    this.core.install();
    const s = new EventStream(this.opts.uri, { maxMessageLength: this.opts.maxMessageLength });
    this.stream = s;
    s.on('message', (msg) => this.handle(msg));
    s.on('close', (err) => {
      if (this.exiting) return;
      if (err) {
        consoleLog('error', `the stream to the host ended: ${err.message}`);
        process.exit(1);
      }
      consoleLog('information', 'the host closed the stream');
      process.exit(0);
    });
    this.send({ requestId: this.opts.requestId, startStream: { workerId: this.opts.workerId } });
  }

  send(msg) {
    try {
      this.stream.write(msg);
    } catch (err) {
      consoleLog('error', `sending ${Object.keys(msg).filter((k) => k !== 'requestId').join()}: ${err.message}`);
    }
  }

  // log sends a system log to the host and to stderr.
  log(level, message) {
    consoleLog(level.toLowerCase(), message);
    this.sendLog({ level, message, category: 'Worker', logCategory: 'System' });
  }

  sendLog(rpcLog) {
    if (this.stream && !this.stream.closed && !this.exiting) this.send({ rpcLog });
  }

  // coreLog sends a log of the library (core module strings) as RpcLog.
  coreLog(level, category, message, inv) {
    let lvl = toProtoEnum(level);
    if (!LEVELS.has(lvl)) lvl = 'Information';
    let cat = toProtoEnum(category);
    if (!LOG_CATEGORIES.has(cat)) cat = 'System';
    if (!inv) {
      if (cat === 'System') consoleLog(lvl.toLowerCase(), message);
      this.sendLog({ level: lvl, message, category: 'Worker', logCategory: cat });
      return;
    }
    this.sendLog({ invocationId: inv.invocationId, category: `${inv.functionName}.Invocation`, level: lvl, message, logCategory: cat });
  }

  handle(msg) {
    const id = msg.requestId || '';
    let p;
    switch (msg.content) {
      case 'workerInitRequest':
        p = this.init(id, msg.workerInitRequest);
        break;
      case 'functionEnvironmentReloadRequest':
        p = this.reload(id, msg.functionEnvironmentReloadRequest);
        break;
      case 'workerStatusRequest':
        this.send({ requestId: id, workerStatusResponse: {} });
        return;
      case 'functionsMetadataRequest':
        this.metadata(id);
        return;
      case 'functionLoadRequest':
        this.load(id, msg.functionLoadRequest);
        return;
      case 'invocationRequest':
        p = this.invoke(id, msg.invocationRequest);
        break;
      case 'workerTerminate':
        p = this.terminate(msg.workerTerminate);
        break;
      case 'invocationCancel':
      case 'fileChangeEventRequest':
      case 'workerHeartbeat':
      case 'closeSharedMemoryResourcesRequest':
        return;
      default:
        this.log('Warning', `ignoring a message the worker does not handle: ${msg.content || 'empty'}`);
        return;
    }
    p.catch((err) => this.log('Error', `handling ${msg.content}: ${err && err.stack ? err.stack : err}`));
  }

  // loadApp loads the app in dir and runs the appStart hooks; a failure is
  // kept for the metadata and load responses.
  async loadApp(dir) {
    this.appDir = dir;
    this.loadError = undefined;
    try {
      const files = await loadApp(this.core, dir, (m) => this.log('Warning', m));
      if (files.length > 0) this.log('Debug', `loaded ${files.join(', ')}`);
      await this.core.runHooks('appStart', {
        functionAppDirectory: dir,
        hookData: this.core.appLevelHookData,
        appHookData: this.core.appHookData,
      });
    } catch (err) {
      this.loadError = err;
      consoleLog('error', err && err.stack ? err.stack : err);
    }
  }

  // capabilities are the worker's, merged with the programming model's.
  async capabilities() {
    let caps = { ...CAPABILITIES };
    const model = this.core.programmingModel;
    if (model && typeof model.getCapabilities === 'function') {
      caps = (await model.getCapabilities(caps)) || caps;
    }
    const out = {};
    for (const [k, v] of Object.entries(caps)) if (v !== undefined && v !== null) out[k] = String(v);
    return out;
  }

  workerMetadata() {
    const model = this.core.programmingModel;
    const meta = {
      runtimeName: 'node',
      runtimeVersion: process.versions.node,
      workerVersion: WORKER_VERSION,
      workerBitness: process.arch,
    };
    if (model) meta.customProperties = { modelName: String(model.name), modelVersion: String(model.version) };
    return meta;
  }

  async init(id, req) {
    this.core.hostVersion = req.hostVersion;
    this.log('Debug', `worker ${this.opts.workerId} initialising (host ${req.hostVersion || 'unknown'}, node ${process.versions.node})`);
    let result = { status: 'Success' };
    let capabilities = { ...CAPABILITIES };
    try {
      if (req.functionAppDirectory) await this.loadApp(req.functionAppDirectory);
      capabilities = await this.capabilities();
    } catch (err) {
      result = failure(err);
    }
    this.send({
      requestId: id,
      workerInitResponse: { workerVersion: WORKER_VERSION, capabilities, workerMetadata: this.workerMetadata(), result },
    });
  }

  async reload(id, req) {
    let result = { status: 'Success' };
    let capabilities = { ...CAPABILITIES };
    try {
      const env = req.environmentVariables || {};
      for (const k of Object.keys(process.env)) if (!Object.prototype.hasOwnProperty.call(env, k)) delete process.env[k];
      Object.assign(process.env, env);
      const dir = req.functionAppDirectory;
      if (dir) {
        process.chdir(dir);
        if (this.appDir === undefined) await this.loadApp(dir);
        else if (this.appDir !== dir) this.log('Warning', `the app in ${this.appDir} is loaded already; not loading ${dir}`);
      }
      capabilities = await this.capabilities();
    } catch (err) {
      result = failure(err);
    }
    this.send({
      requestId: id,
      functionEnvironmentReloadResponse: {
        workerMetadata: this.workerMetadata(),
        capabilities,
        capabilitiesUpdateStrategy: 'replace',
        result,
      },
    });
  }

  metadata(id) {
    this.core.lock();
    if (this.loadError) {
      this.send({ requestId: id, functionMetadataResponse: { result: failure(this.loadError) } });
      return;
    }
    const fns = [...this.core.functions.values()].map((f) => f.rpc);
    this.send({
      requestId: id,
      functionMetadataResponse: {
        functionMetadataResults: fns,
        // No registered function: the host indexes function.json files.
        useDefaultMetadataIndexing: fns.length === 0,
        result: { status: 'Success' },
      },
    });
  }

  load(id, req) {
    this.core.lock();
    const functionId = req.functionId || '';
    let result = { status: 'Success' };
    if (this.loadError) {
      result = failure(this.loadError);
    } else if (!this.core.functions.has(functionId)) {
      const name = (req.metadata && req.metadata.name) || functionId;
      result = failure(new Error(
        `function ${name} was not registered by the app: funcd's Node worker runs apps of the @azure/functions v4 ` +
        'programming model (package.json "main" naming the files that call app.*), not function.json (v3) functions',
      ));
    }
    this.send({ requestId: id, functionLoadResponse: { functionId, result } });
  }

  // invoke runs one invocation through the programming model: arguments,
  // preInvocation hooks, the function, postInvocation hooks, response.
  async invoke(id, req) {
    const invocationId = req.invocationId || '';
    let response;
    try {
      const fn = this.core.functions.get(req.functionId);
      if (!fn) throw new Error(`function id ${JSON.stringify(req.functionId)} is not registered`);
      const model = this.core.programmingModel;
      if (!model) throw new Error('no programming model is set: does the app require @azure/functions?');
      const inv = { invocationId, functionName: fn.metadata.name, context: undefined };
      const coreCtx = {
        invocationId,
        request: req,
        metadata: fn.metadata,
        state: undefined,
        log: (level, category, message) => this.core.log(level, category, message, inv),
      };
      const im = model.getInvocationModel(coreCtx);
      const { context, inputs } = await im.getArguments();
      inv.context = context;
      const hookData = {};
      const appHookData = this.core.appHookData;

      coreCtx.state = 'preInvocationHooks';
      const pre = { hookData, appHookData, invocationContext: context, inputs, functionCallback: fn.callback };
      await this.core.runHooks('preInvocation', pre);

      coreCtx.state = 'invocation';
      // As the Node.js worker's PostInvocationContext: null until set.
      let result = null;
      let error = null;
      try {
        result = await im.invokeFunction(context, pre.inputs, pre.functionCallback);
      } catch (err) {
        error = err;
      }

      coreCtx.state = 'postInvocationHooks';
      const post = { hookData, appHookData, invocationContext: context, inputs: pre.inputs, result, error };
      await this.core.runHooks('postInvocation', post);
      coreCtx.state = undefined;
      if (post.error) throw post.error;

      const r = await im.getResponse(context, post.result);
      response = {
        invocationId,
        outputData: (r.outputData || []).map((b) => ({ ...b, data: toRpcTypedData(b.data) })),
        returnValue: toRpcTypedData(r.returnValue),
        result: { status: 'Success' },
      };
    } catch (err) {
      response = { invocationId, result: failure(err) };
    }
    this.send({ requestId: id, invocationResponse: response });
  }

  async terminate(req) {
    this.log('Information', 'worker terminating');
    const grace = req && req.gracePeriod ? (req.gracePeriod.seconds || 0) * 1000 + (req.gracePeriod.nanos || 0) / 1e6 : 0;
    // The host may keep the connection open or a hook may hang: do not wait
    // for them forever.
    setTimeout(() => process.exit(0), Math.max(grace, 2000)).unref();
    try {
      await this.core.runHooks('appTerminate', { hookData: this.core.appLevelHookData, appHookData: this.core.appHookData });
    } catch (err) {
      this.log('Error', `an appTerminate hook failed: ${err && err.stack ? err.stack : err}`);
    }
    this.exiting = true;
    this.stream.end(() => process.exit(0));
  }
}

function main(argv) {
  let opts;
  try {
    opts = parseArgs(argv);
  } catch (err) {
    consoleLog('error', `funcd node worker: ${err.message}`);
    process.exit(2);
  }
  process.on('uncaughtException', (err) => {
    consoleLog('error', `uncaught exception: ${err && err.stack ? err.stack : err}`);
    process.exit(1);
  });
  process.on('unhandledRejection', (err) => {
    consoleLog('error', `unhandled rejection: ${err && err.stack ? err.stack : err}`);
  });
  new Worker(opts).start();
}

module.exports = { parseArgs, Worker, CAPABILITIES, loadApp, readPackageJson };

if (require.main === module) main(process.argv.slice(2));
