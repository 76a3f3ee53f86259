'use strict';

// A protobuf (proto3) codec driven by schema.js, the generated description
// of the FunctionRpc messages.
//
//   encode(typeName, object) -> Uint8Array
//   decode(typeName, bytes)  -> object
//
// typeName is a full name ("AzureFunctionsRpcMessages.StreamingMessage",
// "google.protobuf.Duration") or a name inside AzureFunctionsRpcMessages
// ("StreamingMessage", "StatusResult.Status" for enums).
//
// Objects use the fields' camelCase JSON names. Values:
//   string              string
//   bytes               Uint8Array (Buffer too); decode returns a Buffer
//   bool                boolean
//   int32 uint32 sint32 number
//   int64 uint64 sint64 decode: a number when |v| <= Number.MAX_SAFE_INTEGER,
//                       otherwise its decimal string; encode takes a number
//                       (an integer), a bigint or a decimal string
//   double float        number
//   enum                decode: the value's name ("Success"), or the number
//                       when the schema does not know it; encode takes
//                       either
//   message             a plain object (google.protobuf.Duration is
//                       {seconds, nanos} like any other)
//   repeated            an array; map: a plain object keyed by the key's
//                       string form (bool keys "true"/"false")
//
// Encoding follows proto3: a field outside a oneof is not written when it
// holds its default ('' / 0 / false / empty bytes / the enum's 0 / empty
// array or map); null or undefined is never written. A member of a oneof is
// written whenever it is set (not null or undefined), default or not; more
// than one set member of one oneof is an error. Fields are written in
// field-number order, map entries in the object's key order. Repeated
// numeric fields are written packed.
//
// Decoding gives what @grpc/proto-loader gives with {keepCase: false,
// defaults: false, oneofs: true}: only the fields present on the wire are
// set (a repeated field or map only when it has an element, an enum or
// scalar at its default only when it was written), and each oneof that
// has a member set also gets a property named after the oneof (camelCase)
// holding the member's name: decode('StreamingMessage', b).content is
// 'workerInitRequest'. Of a oneof, only the member read last is kept; a
// singular field written twice keeps the last value (messages are not
// merged). Repeated scalars are read packed and unpacked. Unknown fields
// are skipped. A malformed input throws a ProtobufError naming the message
// and field.

const schema = require('./schema.js');

const PACKAGE = 'AzureFunctionsRpcMessages';

// Wire types.
const VARINT = 0;
const FIXED64 = 1;
const LEN = 2;
const FIXED32 = 5;

class ProtobufError extends Error {
  constructor(message) {
    super(message);
    this.name = 'ProtobufError';
  }
}

const SCALAR_WIRE = {
  bool: VARINT, int32: VARINT, int64: VARINT, uint32: VARINT, uint64: VARINT,
  sint32: VARINT, sint64: VARINT, enum: VARINT,
  double: FIXED64, float: FIXED32,
  string: LEN, bytes: LEN, message: LEN,
};

// Compiled descriptors, built on first use.
const messageCache = new Map();

function resolveName(table, name) {
  if (Object.prototype.hasOwnProperty.call(table, name)) return name;
  const full = PACKAGE + '.' + name;
  if (Object.prototype.hasOwnProperty.call(table, full)) return full;
  return undefined;
}

function messageType(name) {
  let m = messageCache.get(name);
  if (m) return m;
  const full = resolveName(schema.messages, name);
  if (full === undefined) throw new ProtobufError(`unknown message type ${name}`);
  m = messageCache.get(full);
  if (!m) {
    const def = schema.messages[full];
    m = { name: full, fields: [...def.fields].sort((a, b) => a.number - b.number), byNumber: new Map(), oneofs: def.oneofs };
    for (const f of def.fields) m.byNumber.set(f.number, f);
    m.oneofProps = {};
    for (const o of Object.keys(def.oneofs)) m.oneofProps[o] = o.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase());
    messageCache.set(full, m);
  }
  messageCache.set(name, m);
  return m;
}

function enumType(name) {
  const full = resolveName(schema.enums, name);
  if (full === undefined) throw new ProtobufError(`unknown enum type ${name}`);
  const e = schema.enums[full];
  if (!e.byNumber) {
    e.byNumber = new Map();
    for (const [k, v] of Object.entries(e.values)) if (!e.byNumber.has(v)) e.byNumber.set(v, k);
  }
  return e;
}

// ---------------------------------------------------------------------------
// Encoding

// Every encode writes into one scratch buffer, which grows as needed and is
// kept: encode runs to its end synchronously, so two never share it, and a
// message costs one allocation (its copy out of the scratch) instead of
// one per nested message, map entry and string.
let scratch = Buffer.allocUnsafeSlow(8192);

class Writer {
  constructor() {
    this.buf = scratch;
    this.len = 0;
  }

  ensure(n) {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const b = Buffer.allocUnsafeSlow(size);
    this.buf.copy(b, 0, 0, this.len);
    this.buf = b;
    scratch = b;
  }

  byte(b) {
    this.ensure(1);
    this.buf[this.len++] = b;
  }

  // varint writes a non-negative number below 2^53.
  varint(n) {
    this.ensure(10);
    while (n > 0x7f) {
      this.buf[this.len++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    this.buf[this.len++] = n;
  }

  // varint64 writes a bigint in [0, 2^64).
  varint64(v) {
    if (v <= 0x1fffffffffffffn) {
      this.varint(Number(v));
      return;
    }
    this.ensure(10);
    while (v > 0x7fn) {
      this.buf[this.len++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.len++] = Number(v);
  }

  tag(number, wire) {
    this.varint(number * 8 + wire);
  }

  bytes(b) {
    this.varint(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  // string writes a length-delimited UTF-8 string.
  string(s) {
    const at = this.begin();
    this.ensure(s.length * 3);
    this.len += this.buf.write(s, this.len, 'utf8');
    this.end(at);
  }

  // begin starts length-delimited content, leaving a byte for its length;
  // end(at) writes the length, moving the content when it needs more.
  begin() {
    this.ensure(1);
    return this.len++;
  }

  end(at) {
    const n = this.len - at - 1;
    if (n < 0x80) {
      this.buf[at] = n;
      return;
    }
    let size = 1;
    for (let v = n; v > 0x7f; v = Math.floor(v / 0x80)) size++;
    this.ensure(size - 1);
    this.buf.copyWithin(at + size, at + 1, this.len);
    const end = this.len + size - 1;
    this.len = at;
    this.varint(n);
    this.len = end;
  }

  double(n) {
    this.ensure(8);
    this.buf.writeDoubleLE(n, this.len);
    this.len += 8;
  }

  float(n) {
    this.ensure(4);
    this.buf.writeFloatLE(n, this.len);
    this.len += 4;
  }

  finish() {
    const out = Buffer.allocUnsafe(this.len);
    this.buf.copy(out, 0, 0, this.len);
    return out;
  }
}

function where(m, f) {
  return f ? `${m.name}.${f.name}` : m.name;
}

function toBigInt(v, m, f) {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new ProtobufError(`encode ${where(m, f)}: ${v} is not an integer`);
    return BigInt(v);
  }
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return BigInt(v);
  throw new ProtobufError(`encode ${where(m, f)}: ${typeof v} ${String(v)} is not an integer`);
}

function toInt(v, m, f) {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'bigint' || (typeof v === 'string' && /^-?\d+$/.test(v))) return Number(v);
  throw new ProtobufError(`encode ${where(m, f)}: ${typeof v} ${String(v)} is not an integer`);
}

function enumNumber(v, m, f, typeName) {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'string') {
    const e = enumType(typeName);
    if (Object.prototype.hasOwnProperty.call(e.values, v)) return e.values[v];
  }
  throw new ProtobufError(`encode ${where(m, f)}: ${String(v)} is not a value of ${typeName}`);
}

function toBytes(v, m, f) {
  if (v instanceof Uint8Array) return v;
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  if (Array.isArray(v)) return Uint8Array.from(v);
  throw new ProtobufError(`encode ${where(m, f)}: ${typeof v} is not bytes`);
}

// isDefault reports whether a scalar value is proto3's default.
function isDefault(kind, v) {
  switch (kind) {
    case 'string': return v === '';
    case 'bytes': return v.length === 0;
    case 'bool': return v === false;
    case 'double': case 'float': return v === 0 && !Object.is(v, -0);
    case 'enum': return v === 0;
    default: return v === 0 || v === 0n || v === '0';
  }
}

// writeScalar writes a value of kind without its tag.
function writeScalar(w, kind, v, m, f, typeName) {
  switch (kind) {
    case 'string':
      if (typeof v !== 'string') throw new ProtobufError(`encode ${where(m, f)}: ${typeof v} is not a string`);
      w.string(v);
      return;
    case 'bytes':
      w.bytes(toBytes(v, m, f));
      return;
    case 'bool':
      w.byte(v ? 1 : 0);
      return;
    case 'int32':
    case 'enum': {
      const n = kind === 'enum' ? enumNumber(v, m, f, typeName) : toInt(v, m, f);
      if (n >= 0) w.varint(n);
      else w.varint64(BigInt.asUintN(64, BigInt(n | 0)));
      return;
    }
    case 'uint32':
      w.varint(toInt(v, m, f) >>> 0);
      return;
    case 'sint32': {
      const n = toInt(v, m, f) | 0;
      w.varint(((n << 1) ^ (n >> 31)) >>> 0);
      return;
    }
    case 'int64':
    case 'uint64':
      w.varint64(BigInt.asUintN(64, toBigInt(v, m, f)));
      return;
    case 'sint64': {
      const n = BigInt.asIntN(64, toBigInt(v, m, f));
      w.varint64(BigInt.asUintN(64, (n << 1n) ^ (n >> 63n)));
      return;
    }
    case 'double':
      w.double(Number(v));
      return;
    case 'float':
      w.float(Number(v));
      return;
    case 'message': {
      if (v === null || typeof v !== 'object') throw new ProtobufError(`encode ${where(m, f)}: ${v === null ? 'null' : typeof v} is not an object`);
      const at = w.begin();
      encodeMessage(w, messageType(typeName), v);
      w.end(at);
      return;
    }
  }
  throw new ProtobufError(`encode ${where(m, f)}: unknown kind ${kind}`);
}

function mapKeyValue(kind, key, m, f) {
  switch (kind) {
    case 'string': return key;
    case 'bool':
      if (key === 'true') return true;
      if (key === 'false') return false;
      throw new ProtobufError(`encode ${where(m, f)}: map key ${key} is not a bool`);
    default: return key;
  }
}

function encodeField(w, m, f, v, inOneof) {
  if (f.kind === 'map') {
    if (typeof v !== 'object') throw new ProtobufError(`encode ${where(m, f)}: ${typeof v} is not a map object`);
    const entries = v instanceof Map ? [...v.entries()] : Object.entries(v);
    for (const [key, value] of entries) {
      if (value === undefined || value === null) continue;
      w.tag(f.number, LEN);
      const at = w.begin();
      w.tag(1, SCALAR_WIRE[f.map.keyKind]);
      writeScalar(w, f.map.keyKind, mapKeyValue(f.map.keyKind, String(key), m, f), m, f);
      w.tag(2, SCALAR_WIRE[f.map.valueKind]);
      writeScalar(w, f.map.valueKind, value, m, f, f.map.valueType);
      w.end(at);
    }
    return;
  }
  if (f.repeated) {
    if (!Array.isArray(v) && !ArrayBuffer.isView(v)) throw new ProtobufError(`encode ${where(m, f)}: ${typeof v} is not an array`);
    if (v.length === 0) return;
    if (f.packed) {
      w.tag(f.number, LEN);
      const at = w.begin();
      for (const x of v) writeScalar(w, f.kind, x, m, f, f.type);
      w.end(at);
      return;
    }
    for (const x of v) {
      if (x === null || x === undefined) throw new ProtobufError(`encode ${where(m, f)}: an element is ${x}`);
      w.tag(f.number, SCALAR_WIRE[f.kind]);
      writeScalar(w, f.kind, x, m, f, f.type);
    }
    return;
  }
  if (!inOneof && f.kind !== 'message') {
    const value = f.kind === 'enum' ? enumNumber(v, m, f, f.type) : f.kind === 'bytes' ? toBytes(v, m, f) : v;
    if (isDefault(f.kind, value)) return;
  }
  w.tag(f.number, SCALAR_WIRE[f.kind]);
  writeScalar(w, f.kind, v, m, f, f.type);
}

// encode returns the protobuf encoding of obj as a message of typeName.
function encode(typeName, obj) {
  const m = messageType(typeName);
  if (obj === null || typeof obj !== 'object') throw new ProtobufError(`encode ${m.name}: ${obj === null ? 'null' : typeof obj} is not an object`);
  const w = new Writer();
  encodeMessage(w, m, obj);
  return w.finish();
}

// encodeMessage writes obj's fields, as a message of m, into w.
function encodeMessage(w, m, obj) {
  let seen;
  for (const f of m.fields) {
    const v = obj[f.name];
    if (v === undefined || v === null) continue;
    if (f.oneof) {
      if (seen === undefined) seen = new Map();
      const other = seen.get(f.oneof);
      if (other !== undefined) throw new ProtobufError(`encode ${m.name}: oneof ${f.oneof} has both ${other} and ${f.name} set`);
      seen.set(f.oneof, f.name);
    }
    encodeField(w, m, f, v, Boolean(f.oneof));
  }
}

// ---------------------------------------------------------------------------
// Decoding

// A Reader reads the message in buf[pos, end); buf is a Buffer, and an
// embedded message is read by a Reader of its own bounds in the same buf.
class Reader {
  constructor(buf, m, pos = 0, end = buf.length) {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
    this.m = m;
  }

  fail(f, what) {
    throw new ProtobufError(`decode ${where(this.m, f)}: ${what} at offset ${this.pos}`);
  }

  // varint returns a varint as a bigint below 2^64.
  varint(f) {
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.fail(f, 'truncated varint');
      const b = this.buf[this.pos++];
      result |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return BigInt.asUintN(64, result);
      shift += 7n;
    }
    this.fail(f, 'varint longer than 10 bytes');
  }

  // small returns a varint below 2^28 as a number, or -1 (reading
  // nothing) for a longer one, which varint reads as a bigint.
  small() {
    let x = 0;
    let p = this.pos;
    for (let shift = 0; shift < 28; shift += 7) {
      if (p >= this.end) return -1;
      const b = this.buf[p++];
      x |= (b & 0x7f) << shift;
      if (b < 0x80) {
        this.pos = p;
        return x;
      }
    }
    return -1;
  }

  // uvarint returns a varint that must fit a safe number (tags, lengths).
  uvarint(f) {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 8; i++) {
      if (this.pos >= this.end) this.fail(f, 'truncated varint');
      const b = this.buf[this.pos++];
      result += (b & 0x7f) * mul;
      if (b < 0x80) return result;
      mul *= 0x80;
    }
    this.fail(f, 'varint too large for a length or tag');
  }

  // span reads a length and returns where the content starts; it ends at
  // this.pos.
  span(f) {
    const start = this.pos;
    const n = this.uvarint(f);
    if (n > this.end - this.pos) {
      const left = this.end - this.pos;
      this.pos = start;
      this.fail(f, `length ${n} past the end (${left} bytes left)`);
    }
    this.pos += n;
    return this.pos - n;
  }

  len(f) {
    const start = this.span(f);
    return this.buf.subarray(start, this.pos);
  }

  // sub is a Reader of the embedded message that comes next.
  sub(f, m) {
    const start = this.span(f);
    return new Reader(this.buf, m, start, this.pos);
  }

  fixed(f, n) {
    if (this.end - this.pos < n) this.fail(f, `truncated fixed${n * 8}`);
    this.pos += n;
    return this.pos - n;
  }

  skip(wire, number) {
    const f = { name: `#${number}` };
    switch (wire) {
      case VARINT: this.varint(f); return;
      case FIXED64: this.fixed(f, 8); return;
      case LEN: this.len(f); return;
      case FIXED32: this.fixed(f, 4); return;
    }
    this.fail(f, `unsupported wire type ${wire}`);
  }
}

function int64Value(v) {
  if (v >= -0x1fffffffffffffn && v <= 0x1fffffffffffffn) return Number(v);
  return v.toString();
}

function readScalar(r, kind, f, typeName) {
  switch (kind) {
    case 'string': {
      const start = r.span(f);
      return r.buf.toString('utf8', start, r.pos);
    }
    case 'bytes': return Buffer.from(r.len(f));
    case 'bool': {
      const n = r.small();
      return n >= 0 ? n !== 0 : r.varint(f) !== 0n;
    }
    case 'int32': {
      const n = r.small();
      return n >= 0 ? n : Number(BigInt.asIntN(32, r.varint(f)));
    }
    case 'uint32': {
      const n = r.small();
      return n >= 0 ? n : Number(BigInt.asUintN(32, r.varint(f)));
    }
    case 'sint32': {
      let n = r.small();
      if (n < 0) n = Number(BigInt.asUintN(32, r.varint(f)));
      return (n >>> 1) ^ -(n & 1);
    }
    case 'int64': {
      const n = r.small();
      return n >= 0 ? n : int64Value(BigInt.asIntN(64, r.varint(f)));
    }
    case 'uint64': {
      const n = r.small();
      return n >= 0 ? n : int64Value(r.varint(f));
    }
    case 'sint64': {
      const s = r.small();
      if (s >= 0) return (s >>> 1) ^ -(s & 1);
      const n = r.varint(f);
      return int64Value((n >> 1n) ^ -(n & 1n));
    }
    case 'enum': {
      let n = r.small();
      if (n < 0) n = Number(BigInt.asIntN(32, r.varint(f)));
      const name = enumType(typeName).byNumber.get(n);
      return name === undefined ? n : name;
    }
    case 'double': return r.buf.readDoubleLE(r.fixed(f, 8));
    case 'float': return r.buf.readFloatLE(r.fixed(f, 4));
    case 'message': return decodeMessage(r.sub(f, messageType(typeName)));
  }
  throw new ProtobufError(`decode ${where(r.m, f)}: unknown kind ${kind}`);
}

function defaultValue(kind, typeName) {
  switch (kind) {
    case 'string': return '';
    case 'bytes': return Buffer.alloc(0);
    case 'bool': return false;
    case 'double': case 'float': return 0;
    case 'enum': {
      const name = enumType(typeName).byNumber.get(0);
      return name === undefined ? 0 : name;
    }
    case 'message': return undefined;
    default: return 0;
  }
}

function decodeMapEntry(e, f) {
  let key = defaultValue(f.map.keyKind);
  let value = defaultValue(f.map.valueKind, f.map.valueType);
  while (e.pos < e.end) {
    const tag = e.uvarint(f);
    const number = Math.floor(tag / 8);
    const wire = tag & 7;
    const kind = number === 1 ? f.map.keyKind : number === 2 ? f.map.valueKind : undefined;
    if (kind === undefined) {
      e.skip(wire, number);
      continue;
    }
    if (wire !== SCALAR_WIRE[kind]) e.fail(f, `map ${number === 1 ? 'key' : 'value'} has wire type ${wire}, want ${SCALAR_WIRE[kind]}`);
    if (number === 1) key = readScalar(e, kind, f);
    else value = readScalar(e, kind, f, f.map.valueType);
  }
  if (value === undefined && f.map.valueKind === 'message') value = {};
  return [String(key), value];
}

function decodeMessage(r) {
  const m = r.m;
  const obj = {};
  while (r.pos < r.end) {
    const tag = r.uvarint(undefined);
    const number = Math.floor(tag / 8);
    const wire = tag & 7;
    if (number === 0) r.fail(undefined, 'field number 0');
    const f = m.byNumber.get(number);
    if (f === undefined) {
      r.skip(wire, number);
      continue;
    }
    if (f.kind === 'map') {
      if (wire !== LEN) r.fail(f, `wire type ${wire}, want ${LEN}`);
      const [k, v] = decodeMapEntry(r.sub(f, m), f);
      if (obj[f.name] === undefined) obj[f.name] = {};
      obj[f.name][k] = v;
      continue;
    }
    const want = SCALAR_WIRE[f.kind];
    if (f.repeated) {
      if (obj[f.name] === undefined) obj[f.name] = [];
      if (wire === LEN && want !== LEN) {
        const p = r.sub(f, m);
        while (p.pos < p.end) obj[f.name].push(readScalar(p, f.kind, f, f.type));
        continue;
      }
      if (wire !== want) r.fail(f, `wire type ${wire}, want ${want}`);
      obj[f.name].push(readScalar(r, f.kind, f, f.type));
      continue;
    }
    if (wire !== want) r.fail(f, `wire type ${wire}, want ${want}`);
    const v = readScalar(r, f.kind, f, f.type);
    if (f.oneof) {
      // The oneof's property names the member set so far, if any.
      const prop = m.oneofProps[f.oneof];
      const prev = obj[prop];
      if (prev !== undefined && prev !== f.name) delete obj[prev];
      obj[prop] = f.name;
    }
    obj[f.name] = v;
  }
  return obj;
}

// decode returns the message of typeName in bytes.
function decode(typeName, bytes) {
  const m = messageType(typeName);
  if (!(bytes instanceof Uint8Array)) throw new ProtobufError(`decode ${m.name}: input is not a Uint8Array`);
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return decodeMessage(new Reader(buf, m));
}

module.exports = { encode, decode, ProtobufError, schema };
