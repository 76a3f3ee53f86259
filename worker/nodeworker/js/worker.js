'use strict';

// funcd's Node.js language worker: the program the host starts as
// `node worker.js <flags>`. It dials the host's FunctionRpc server, opens
// the EventStream and answers the host's requests. It needs nothing but
// Node itself.
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

const { EventStream } = require('./grpc.js');

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

class Worker {
  constructor(opts) {
    this.opts = opts;
    this.stream = null;
    this.hostVersion = undefined;
    this.exiting = false;
  }

  start() {
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
    if (this.stream && !this.stream.closed && !this.exiting) {
      this.send({ rpcLog: { level, message, category: 'Worker', logCategory: 'System' } });
    }
  }

  handle(msg) {
    const id = msg.requestId || '';
    try {
      switch (msg.content) {
        case 'workerInitRequest':
          this.init(id, msg.workerInitRequest);
          return;
        case 'workerStatusRequest':
          this.send({ requestId: id, workerStatusResponse: {} });
          return;
        case 'functionsMetadataRequest':
          this.send({
            requestId: id,
            functionMetadataResponse: { useDefaultMetadataIndexing: true, result: { status: 'Success' } },
          });
          return;
        case 'functionLoadRequest':
          this.send({
            requestId: id,
            functionLoadResponse: { functionId: msg.functionLoadRequest.functionId || '', result: { status: 'Success' } },
          });
          return;
        case 'workerTerminate':
          this.terminate();
          return;
        case 'invocationCancel':
        case 'fileChangeEventRequest':
        case 'workerHeartbeat':
        case 'closeSharedMemoryResourcesRequest':
          return;
        default:
          this.log('Warning', `ignoring a message the worker does not handle: ${msg.content || 'empty'}`);
      }
    } catch (err) {
      this.log('Error', `handling ${msg.content}: ${err.stack || err.message}`);
    }
  }

  init(id, req) {
    this.hostVersion = req.hostVersion;
    this.log('Debug', `worker ${this.opts.workerId} initialising (host ${req.hostVersion || 'unknown'}, node ${process.versions.node})`);
    this.send({
      requestId: id,
      workerInitResponse: {
        workerVersion: WORKER_VERSION,
        capabilities: { ...CAPABILITIES },
        workerMetadata: {
          runtimeName: 'node',
          runtimeVersion: process.versions.node,
          workerVersion: WORKER_VERSION,
          workerBitness: process.arch,
        },
        result: { status: 'Success' },
      },
    });
  }

  terminate() {
    this.log('Information', 'worker terminating');
    this.exiting = true;
    this.stream.end(() => process.exit(0));
    // The host may keep the connection open; do not wait for it forever.
    setTimeout(() => process.exit(0), 2000).unref();
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

module.exports = { parseArgs, Worker, CAPABILITIES };

if (require.main === module) main(process.argv.slice(2));
