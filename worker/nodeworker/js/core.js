'use strict';

// The `@azure/functions-core` module: what the @azure/functions library
// (the v4 programming model) calls to register functions, hooks and its
// programming model, and to log.
//
//   const core = new Core({ version, log });
//   core.install();            // require('@azure/functions-core') now
//                              // returns core.api, from any module
//   core.api.registerFunction(metadata, callback) ...
//
// The worker reads the registrations back: core.functions (functionId ->
// {metadata, callback, rpc}), core.hooks, core.programmingModel. It calls
// core.lock() once the host asks for the functions, after which
// registrations throw.
//
// log(level, category, message, invocationId?, functionName?) is the
// worker's sink for every log the library makes, with the core module's
// strings ('information', 'user'), already through the log hooks.

const Module = require('node:module');
const path = require('node:path');

const MODULE_ID = '@azure/functions-core';
const GLOBAL_KEY = Symbol.for('funcd.functions-core');
let loaderInstalled = false;

// The ES module an import of MODULE_ID resolves to: the CommonJS module's
// members as named exports, and the module itself as the default.
const ESM_SOURCE = `const core = globalThis[Symbol.for('funcd.functions-core')];
export default core;
export const registerFunction = (...a) => core.registerFunction(...a);
export const registerHook = (...a) => core.registerHook(...a);
export const setProgrammingModel = (...a) => core.setProgrammingModel(...a);
export const getProgrammingModel = (...a) => core.getProgrammingModel(...a);
export const log = (...a) => core.log(...a);
export const Disposable = core.Disposable;
export const version = core.version;
`;

// The module customization hooks (they run on Node's loader thread).
const ESM_HOOKS = `const url = ${JSON.stringify('data:text/javascript,' + encodeURIComponent(ESM_SOURCE))};
export async function resolve(specifier, context, next) {
  if (specifier === ${JSON.stringify(MODULE_ID)}) return { url, shortCircuit: true };
  return next(specifier, context);
}
`;
const HOOK_NAMES = ['appStart', 'appTerminate', 'preInvocation', 'postInvocation', 'log'];

class Disposable {
  constructor(callOnDispose) {
    this._callOnDispose = callOnDispose;
    this._disposed = false;
  }

  // from returns a Disposable that disposes of all of the given ones.
  static from(...disposables) {
    return new Disposable(() => {
      for (const d of disposables) d.dispose();
    });
  }

  dispose() {
    if (this._disposed) return;
    this._disposed = true;
    this._callOnDispose();
  }
}

// A RangeError the library recognises (name RangeError,
// isAzureFunctionsSystemError): it turns one from registerHook('log') into
// its own "requires a newer host" message.
function rangeError(message) {
  const err = new RangeError(message);
  err.isAzureFunctionsSystemError = true;
  return err;
}

// Enum values: the core module spells them in camelCase ('success',
// 'information', 'customMetric', 'exponentialBackoff', 'explicitNone'),
// the protocol as schema.js names them ('Success', 'Information',
// 'CustomMetric', 'exponential_backoff', 'ExplicitNone').
function toProtoEnum(v) {
  if (typeof v !== 'string' || v === '') return v;
  return v[0].toUpperCase() + v.slice(1);
}

function fromProtoEnum(v) {
  if (typeof v !== 'string' || v === '') return v;
  return v[0].toLowerCase() + v.slice(1);
}

const RETRY_STRATEGIES = { exponentialBackoff: 'exponential_backoff', fixedDelay: 'fixed_delay' };

// toRpcRetryOptions converts the library's retryOptions to RpcRetryOptions.
function toRpcRetryOptions(r, fn) {
  if (r === undefined || r === null) return undefined;
  const strategy = RETRY_STRATEGIES[r.retryStrategy];
  if (strategy === undefined) {
    throw new Error(`function ${fn}: retryOptions.retryStrategy ${JSON.stringify(r.retryStrategy)} is not one of ${Object.keys(RETRY_STRATEGIES).join(', ')}`);
  }
  const out = { maxRetryCount: r.maxRetryCount, retryStrategy: strategy };
  for (const k of ['delayInterval', 'minimumInterval', 'maximumInterval']) {
    if (r[k] !== undefined && r[k] !== null) out[k] = { seconds: r[k].seconds || 0, nanos: r[k].nanos || 0 };
  }
  return out;
}

// toRpcTypedData converts a TypedData the library produced into the
// protocol's spelling: cookie sameSite values and a numeric statusCode.
function toRpcTypedData(td) {
  if (!td || typeof td !== 'object' || !td.http) return td;
  const http = { ...td.http };
  if (typeof http.statusCode === 'number') http.statusCode = String(http.statusCode);
  if (Array.isArray(http.cookies)) {
    http.cookies = http.cookies.map((c) => (c && typeof c.sameSite === 'string' ? { ...c, sameSite: toProtoEnum(c.sameSite) } : c));
  }
  return { ...td, http };
}

class Core {
  constructor({ version, log }) {
    this.version = version;
    this.hostVersion = undefined;
    this.sink = log;
    this.functions = new Map();
    this.hooks = Object.fromEntries(HOOK_NAMES.map((n) => [n, []]));
    this.programmingModel = undefined;
    this.locked = false;
    this.entryPoint = undefined; // the file being loaded
    this.appHookData = {};
    this.appLevelHookData = {}; // shared by appStart and appTerminate
    this.api = this.makeApi();
  }

  // reset forgets every registration (before the app is loaded again).
  reset() {
    this.functions.clear();
    for (const n of HOOK_NAMES) this.hooks[n] = [];
    this.programmingModel = undefined;
    this.locked = false;
    this.appHookData = {};
    this.appLevelHookData = {};
  }

  lock() {
    this.locked = true;
  }

  makeApi() {
    const core = this;
    return {
      get version() {
        return core.version;
      },
      get hostVersion() {
        if (core.hostVersion === undefined) throw new Error('hostVersion is not known before the host initialised the worker');
        return core.hostVersion;
      },
      registerFunction: (metadata, callback) => this.registerFunction(metadata, callback),
      registerHook: (name, callback) => this.registerHook(name, callback),
      setProgrammingModel: (model) => {
        this.programmingModel = model;
      },
      getProgrammingModel: () => this.programmingModel,
      log: (level, category, message) => this.log(level, category, message),
      Disposable,
    };
  }

  registerFunction(metadata, callback) {
    if (this.locked) throw new Error('A function can only be registered during app startup.');
    if (!metadata || typeof metadata !== 'object') throw new TypeError('registerFunction: metadata must be an object');
    if (typeof metadata.name !== 'string' || metadata.name === '') throw new TypeError('registerFunction: metadata.name must be a non-empty string');
    if (typeof callback !== 'function') throw new TypeError(`registerFunction ${metadata.name}: the callback must be a function`);
    const bindings = metadata.bindings || {};
    if (typeof bindings !== 'object') throw new TypeError(`registerFunction ${metadata.name}: metadata.bindings must be an object`);
    const functionId = metadata.functionId || metadata.name;
    if (this.functions.has(functionId)) throw new Error(`A function with id "${functionId}" has already been registered.`);

    const file = this.entryPoint;
    const rpc = {
      functionId,
      name: metadata.name,
      directory: file ? path.dirname(file) : '',
      scriptFile: file ? path.basename(file) : 'unknown',
      language: 'node',
      rawBindings: Object.entries(bindings).map(([key, b]) => JSON.stringify({ ...b, name: key })),
      bindings: Object.fromEntries(
        Object.entries(bindings).map(([key, b]) => [key, { type: b.type, direction: b.direction, dataType: b.dataType }]),
      ),
      retryOptions: toRpcRetryOptions(metadata.retryOptions, metadata.name),
    };
    this.functions.set(functionId, { metadata, callback, rpc });
    return new Disposable(() => {
      if (this.locked) throw new Error('A function can only be disposed of during app startup.');
      this.functions.delete(functionId);
    });
  }

  registerHook(name, callback) {
    if (!HOOK_NAMES.includes(name)) throw rangeError(`"${name}" is not a valid hook name; use one of ${HOOK_NAMES.join(', ')}.`);
    if (typeof callback !== 'function') throw new TypeError(`registerHook ${name}: the callback must be a function`);
    const list = this.hooks[name];
    const entry = { callback };
    list.push(entry);
    return new Disposable(() => {
      const i = this.hooks[name].indexOf(entry);
      if (i >= 0) this.hooks[name].splice(i, 1);
    });
  }

  // runHooks awaits the hooks of name one at a time, in registration
  // order, with context.
  async runHooks(name, context) {
    for (const { callback } of [...this.hooks[name]]) await callback(context);
  }

  // log passes a log through the log hooks to the sink. A log hook may
  // change the level and, of a user log, the message.
  log(level, category, message, invocation) {
    level = typeof level === 'string' ? level : 'information';
    category = typeof category === 'string' ? category : 'system';
    message = String(message);
    if (this.hooks.log.length > 0) {
      const ctx = {
        level,
        message,
        category,
        invocationContext: invocation ? invocation.context : undefined,
        hookData: {},
        appHookData: this.appHookData,
      };
      for (const { callback } of [...this.hooks.log]) {
        try {
          callback(ctx);
        } catch (err) {
          this.sink('error', 'system', `a log hook failed: ${err && err.stack ? err.stack : err}`);
        }
      }
      level = ctx.level;
      if (category === 'user') message = String(ctx.message);
    }
    this.sink(level, category, message, invocation);
  }

  // install makes require('@azure/functions-core') return the module, and
  // an ES module's import of it too (a resolve hook maps the name to a
  // module re-exporting it; Node >= 20.6). The most recent install wins.
  install() {
    const api = this.api;
    globalThis[GLOBAL_KEY] = api;
    if (loaderInstalled) return;
    loaderInstalled = true;
    const load = Module._load;
    Module._load = function (request, ...rest) {
      if (request === MODULE_ID) return globalThis[GLOBAL_KEY];
      return load.call(this, request, ...rest);
    };
    if (typeof Module.register === 'function') {
      Module.register(`data:text/javascript,${encodeURIComponent(ESM_HOOKS)}`);
    }
  }
}

module.exports = { Core, Disposable, toProtoEnum, fromProtoEnum, toRpcRetryOptions, toRpcTypedData, MODULE_ID, HOOK_NAMES };
