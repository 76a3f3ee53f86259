'use strict';

// Tests of protobuf.js. Byte vectors made by Go's proto.Marshal come from
// the file named by FUNCD_PB_VECTORS (written by the Go test of
// worker/grpcworker/internal/jsschema); the other vectors are computed by
// hand.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const { encode, decode, ProtobufError, schema } = require('../protobuf.js');

const hex = (b) => Buffer.from(b).toString('hex');
const unhex = (s) => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

// What each Go vector decodes to.
const expected = {
  startStream: { requestId: 'req-1', content: 'startStream', startStream: { workerId: 'w-1' } },
  emptyOneofMember: { content: 'workerStatusRequest', workerStatusRequest: {} },
  workerInitRequest: {
    requestId: 'r',
    content: 'workerInitRequest',
    workerInitRequest: {
      hostVersion: '4.1040.0.0',
      capabilities: { MultiStream: 'true', Zeta: '' },
      logCategories: { a: 'Trace', b: 'Warning' },
      workerDirectory: '/w',
      functionAppDirectory: '/app/é',
    },
  },
  workerTerminate: { content: 'workerTerminate', workerTerminate: { gracePeriod: { seconds: 5, nanos: 250000000 } } },
  invocationRequest: {
    invocationId: 'inv',
    functionId: 'fn',
    inputData: [
      {
        name: 'req',
        rpcData: 'data',
        data: {
          data: 'http',
          http: {
            method: 'POST',
            url: 'http://h/api/x?y=1',
            body: { data: 'bytes', bytes: Buffer.from([0, 1, 0xff]) },
            nullableHeaders: { a: { string: 'value', value: '1' }, b: { string: 'value', value: '' } },
          },
        },
      },
      {
        name: 'blob',
        rpcData: 'rpcSharedMemory',
        rpcSharedMemory: { name: 'm', offset: 1099511627776, count: -1, type: 'bytes' },
      },
    ],
    triggerMetadata: { Empty: { data: 'string', string: '' }, Id: { data: 'string', string: '1' } },
    retryContext: { retryCount: -2, maxRetryCount: 5 },
  },
  typedInt: { data: 'int', int: -1 },
  typedIntZero: { data: 'int', int: 0 },
  typedIntMin: { data: 'int', int: '-9223372036854775808' },
  typedIntBig: { data: 'int', int: '9007199254740992' },
  typedDouble: { data: 'double', double: -1.5 },
  collectionDouble: { data: 'collectionDouble', collectionDouble: { double: [0, 1.25, -Infinity] } },
  collectionSint64: {
    data: 'collectionSint64',
    collectionSint64: { sint64: [0, -1, 1, '9223372036854775807', 9007199254740991] },
  },
  collectionBytes: { data: 'collectionBytes', collectionBytes: { bytes: [Buffer.alloc(0), Buffer.from([7])] } },
  collectionString: { data: 'collectionString', collectionString: { string: ['', 'ü'] } },
  functionMetadata: {
    name: 'hello',
    bindings: {
      $return: { type: 'http', direction: 'out' },
      req: { type: 'httpTrigger', dataType: 'binary', properties: { k: 'v' } },
    },
    isProxy: true,
    rawBindings: ['{"type":"httpTrigger"}', '{"name":"$return"}'],
    retryOptions: { maxRetryCount: 3, delayInterval: { seconds: -1, nanos: -500000000 } },
  },
  rpcLog: { level: 'Information', message: 'hi', exception: { message: 'm', stackTrace: 's' }, logCategory: 'System' },
  statusFailure: { result: 'r' },
  closeMapResults: { closeMapResults: { a: true, b: false } },
  nullableTimestamp: { timestamp: 'value', value: { seconds: 1767323045, nanos: 6 } },
};

test('Go vectors decode to the expected objects and encode back to the same bytes', (t) => {
  const file = process.env.FUNCD_PB_VECTORS;
  if (!file) {
    t.skip('FUNCD_PB_VECTORS is not set (the Go test sets it)');
    return;
  }
  const vectors = JSON.parse(fs.readFileSync(file, 'utf8'));
  assert.deepEqual(Object.keys(vectors).sort(), Object.keys(expected).sort());
  for (const [name, v] of Object.entries(vectors)) {
    const got = decode(v.type, unhex(v.hex));
    assert.deepStrictEqual(got, expected[name], `decode ${name}`);
    assert.equal(hex(encode(v.type, expected[name])), v.hex, `encode ${name}`);
  }
});

test('hand-computed bytes', () => {
  // field 2, LEN, "a"
  assert.equal(hex(encode('StartStream', { workerId: 'a' })), '120161');
  // StreamingMessage: request_id (1) then start_stream (20 -> tag 0xa2 0x01)
  assert.equal(hex(encode('StreamingMessage', { requestId: 'r', startStream: { workerId: 'a' } })), '0a0172a20103120161');
  // sint64 zigzag: 0->0, -1->1, 1->2, -2->3, 2^63-1 -> 2^64-2
  assert.equal(hex(encode('TypedData', { int: 0 })), '3000');
  assert.equal(hex(encode('TypedData', { int: -1 })), '3001');
  assert.equal(hex(encode('TypedData', { int: 1 })), '3002');
  assert.equal(hex(encode('TypedData', { int: -2 })), '3003');
  assert.equal(hex(encode('TypedData', { int: '9223372036854775807' })), '30feffffffffffffffff01');
  // int32 -1 is ten bytes
  assert.equal(hex(encode('RetryContext', { retryCount: -1 })), '08ffffffffffffffffff01');
  // double (fixed64, little-endian)
  assert.equal(hex(encode('TypedData', { double: -1.5 })), '39000000000000f8bf');
  // packed sint64: field 1 LEN [1, 2, 3]
  assert.equal(hex(encode('CollectionSInt64', { sint64: [-1, 1, -2] })), '0a03010203');
  // 300 as int64 varint
  assert.equal(hex(encode('RpcSharedMemory', { offset: 300 })), '10ac02');
  // enum by name and by number
  assert.equal(hex(encode('StatusResult', { status: 'Success' })), '2001');
  assert.equal(hex(encode('StatusResult', { status: 1 })), '2001');
  // map<string,string> entry: field 2 LEN { 1: "k", 2: "v" }
  assert.equal(hex(encode('WorkerInitRequest', { capabilities: { k: 'v' } })), '12060a016b120176');
});

test('64-bit integers: number, bigint and decimal string encode alike', () => {
  for (const v of [12345, 12345n, '12345']) {
    assert.equal(hex(encode('RpcSharedMemory', { count: v })), '18b960');
  }
  assert.equal(hex(encode('RpcSharedMemory', { count: -1n })), hex(encode('RpcSharedMemory', { count: -1 })));
  assert.deepEqual(decode('RpcSharedMemory', encode('RpcSharedMemory', { count: 2n ** 62n })), { count: String(2n ** 62n) });
  assert.throws(() => encode('RpcSharedMemory', { count: 1.5 }), /RpcSharedMemory\.count: 1\.5 is not an integer/);
  assert.throws(() => encode('RpcSharedMemory', { count: 'x' }), /RpcSharedMemory\.count/);
});

test('proto3 defaults are omitted, oneof members are not', () => {
  assert.equal(hex(encode('StatusResult', { status: 'Failure', result: '', logs: [] })), '');
  assert.equal(hex(encode('RpcHttp', { method: '', headers: {}, enableContentNegotiation: false, body: null })), '');
  assert.equal(hex(encode('TypedData', { string: '' })), '0a00');
  assert.equal(hex(encode('TypedData', { bytes: new Uint8Array(0) })), '1a00');
  assert.equal(hex(encode('NullableString', { value: '' })), '0a00');
  assert.equal(hex(encode('StreamingMessage', { workerStatusRequest: {} })), '6200');
  assert.deepEqual(decode('StatusResult', new Uint8Array(0)), {});
});

test('oneofs: encode refuses two members; decode keeps the last', () => {
  assert.throws(() => encode('TypedData', { string: 'a', json: 'b' }), /TypedData: oneof data has both string and json set/);
  // string "a" then json "b"
  assert.deepEqual(decode('TypedData', unhex('0a0161 120162')), { data: 'json', json: 'b' });
});

test('repeated scalars decode packed and unpacked', () => {
  assert.deepEqual(decode('CollectionSInt64', unhex('0a03010203')).sint64, [-1, 1, -2]);
  assert.deepEqual(decode('CollectionSInt64', unhex('0801 0802 0803')).sint64, [-1, 1, -2]);
  assert.deepEqual(decode('CollectionSInt64', unhex('0a0101 0802')).sint64, [-1, 1]);
  const unpacked = unhex('09' + '000000000000f83f' + '09' + '0000000000000040');
  assert.deepEqual(decode('CollectionDouble', unpacked).double, [1.5, 2]);
  assert.equal(hex(encode('CollectionDouble', { double: [1.5, 2] })), '0a10000000000000f83f0000000000000040');
});

test('lengths of one, two and three bytes, nested, and messages larger than the scratch buffer', () => {
  // 200 bytes: the length takes two bytes (c8 01), so the content moves.
  assert.equal(hex(encode('StartStream', { workerId: 'x'.repeat(200) })), '12c801' + '78'.repeat(200));
  // 20000 bytes: three (a0 9c 01), past the 8 KiB scratch buffer.
  assert.equal(hex(encode('StartStream', { workerId: 'y'.repeat(20000) })), '12a09c01' + '79'.repeat(20000));
  // Nested: StartStream of 100 two-byte characters (12 c8 01 + 200 bytes)
  // inside StreamingMessage field 20 (a2 01), 203 bytes (cb 01).
  const nested = encode('StreamingMessage', { requestId: 'r', startStream: { workerId: 'é'.repeat(100) } });
  assert.equal(hex(nested), '0a0172' + 'a201cb01' + '12c801' + 'c3a9'.repeat(100));
  assert.deepEqual(decode('StreamingMessage', nested),
    { requestId: 'r', content: 'startStream', startStream: { workerId: 'é'.repeat(100) } });
  // Each encode's result is its own: the next encode does not change it.
  const first = encode('StartStream', { workerId: 'a' });
  encode('StartStream', { workerId: 'b' });
  assert.equal(hex(first), '120161');
  // A map entry and a packed field past 127 bytes.
  const big = { capabilities: { k: 'v'.repeat(300) } };
  assert.deepEqual(decode('WorkerInitRequest', encode('WorkerInitRequest', big)), big);
  const many = Array.from({ length: 100 }, (_, i) => i * 1000);
  assert.deepEqual(decode('CollectionSInt64', encode('CollectionSInt64', { sint64: many })).sint64, many);
});

test('unknown fields are skipped', () => {
  // worker_id, then field 99 as varint, fixed64, LEN and fixed32
  const b = unhex('120161' + '989f06' + '96' + '01' + '99' + '06' + '0102030405060708' + '9a06' + '02' + 'ffff' + '9d06' + '01020304');
  assert.deepEqual(decode('StartStream', b), { workerId: 'a' });
});

test('malformed input names the message and field', () => {
  const bad = (type, h, re) => {
    assert.throws(() => decode(type, unhex(h)), (err) => err instanceof ProtobufError && re.test(err.message));
  };
  bad('StartStream', '1280', /^decode AzureFunctionsRpcMessages\.StartStream\.workerId: truncated varint/);
  bad('StartStream', '120561', /StartStream\.workerId: length 5 past the end \(1 bytes left\)/);
  bad('StartStream', '1500000000', /StartStream\.workerId: wire type 5, want 2/);
  bad('StartStream', '80', /^decode AzureFunctionsRpcMessages\.StartStream: truncated varint/);
  bad('TypedData', '30ffffffffffffffffffff01', /TypedData\.int: varint longer than 10 bytes/);
  bad('TypedData', '39000000', /TypedData\.double: truncated fixed64/);
  // nested: the inner message is named
  bad('StreamingMessage', 'a201021280', /StartStream\.workerId: truncated varint/);
  bad('StartStream', '0b', /unsupported wire type 3/);
  assert.throws(() => encode('StatusResult', { status: 'Nope' }), /StatusResult\.status: Nope is not a value of/);
  assert.throws(() => encode('StartStream', { workerId: 5 }), /StartStream\.workerId: number is not a string/);
  assert.throws(() => encode('Nope', {}), /unknown message type Nope/);
});

// sample builds an object of type with every field set to a non-default
// value; variant picks the member of each oneof.
function sample(type, variant, depth) {
  const m = schema.messages[type];
  const obj = {};
  const seen = new Set();
  for (const f of m.fields) {
    if (f.kind === 'message' && depth >= 3) continue;
    if (f.oneof) {
      const members = m.oneofs[f.oneof];
      if (seen.has(f.oneof) || members[variant % members.length] !== f.name) continue;
      seen.add(f.oneof);
    }
    const one = (kind, t) => value(kind, t, variant, depth);
    if (f.kind === 'map') {
      if (f.map.valueKind === 'message' && depth >= 3) continue;
      obj[f.name] = { k1: one(f.map.valueKind, f.map.valueType), k2: one(f.map.valueKind, f.map.valueType) };
    } else if (f.repeated) {
      obj[f.name] = [one(f.kind, f.type), one(f.kind, f.type)];
    } else {
      obj[f.name] = one(f.kind, f.type);
    }
  }
  for (const [o, members] of Object.entries(m.oneofs)) {
    if (seen.has(o)) obj[o.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase())] = members[variant % members.length];
  }
  return obj;
}

function value(kind, type, variant, depth) {
  switch (kind) {
    case 'string': return 'sü' + variant;
    case 'bytes': return Buffer.from([variant, 0, 255]);
    case 'bool': return true;
    case 'int32': return -7 - variant;
    case 'uint32': return 7 + variant;
    case 'sint32': return -9;
    case 'int64': return -123456789012;
    case 'uint64': return 123456789012;
    case 'sint64': return '-9223372036854775807';
    case 'double': return 0.1 + variant;
    case 'float': return 0.5;
    case 'enum': {
      const names = Object.keys(schema.enums[type].values);
      return names[names.length - 1];
    }
    case 'message': return sample(type, variant, depth + 1);
  }
  throw new Error(kind);
}

test('every message round-trips with every field and every oneof member', () => {
  let n = 0;
  for (const type of Object.keys(schema.messages)) {
    const m = schema.messages[type];
    const variants = Math.max(1, ...Object.values(m.oneofs).map((x) => x.length));
    for (let v = 0; v < variants; v++) {
      const obj = sample(type, v, 0);
      const b = encode(type, obj);
      assert.deepStrictEqual(decode(type, b), obj, `${type} variant ${v}`);
      assert.equal(hex(encode(type, decode(type, b))), hex(b), `${type} variant ${v} re-encoded`);
      n++;
    }
  }
  assert.ok(n > Object.keys(schema.messages).length);
});
