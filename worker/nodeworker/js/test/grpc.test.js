'use strict';

// Tests of grpc.js (against a node:http2 server playing the host) and of
// worker.js's flag parsing.

const test = require('node:test');
const assert = require('node:assert/strict');
const http2 = require('node:http2');
const { EventStream, FrameReader, GrpcError, frame, PATH } = require('../grpc.js');
const { encode, decode } = require('../protobuf.js');
const { parseArgs } = require('../worker.js');

const MSG = 'StreamingMessage';

test('FrameReader reassembles messages split across and packed into chunks', () => {
  const a = encode(MSG, { requestId: 'a', startStream: { workerId: 'w' } });
  const b = encode(MSG, { requestId: 'b'.repeat(300) });
  const all = Buffer.concat([frame(a), frame(b), frame(new Uint8Array(0))]);
  for (let size = 1; size <= all.length; size += size < 8 ? 1 : 37) {
    const r = new FrameReader(1 << 20);
    const got = [];
    for (let i = 0; i < all.length; i += size) got.push(...r.push(all.subarray(i, i + size)));
    assert.equal(got.length, 3, `chunk size ${size}`);
    assert.deepEqual(Buffer.from(got[0]), Buffer.from(a));
    assert.deepEqual(Buffer.from(got[1]), Buffer.from(b));
    assert.equal(got[2].length, 0);
    assert.equal(r.pending, 0);
  }
});

test('FrameReader refuses over-long and compressed messages', () => {
  const r = new FrameReader(10);
  assert.throws(() => r.push(frame(new Uint8Array(11)).subarray(0, 5)), (e) => e instanceof GrpcError && e.code === 8 && /11 vs\. 10/.test(e.message));
  const c = Buffer.from([1, 0, 0, 0, 0]);
  assert.throws(() => new FrameReader(10).push(c), /compressed flag 1/);
});

// host starts an h2c server whose EventStream handler is fn(stream, headers).
async function host(fn) {
  const server = http2.createServer();
  server.on('stream', fn);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { uri: `http://127.0.0.1:${server.address().port}/`, server };
}

test('a stream exchanges messages and reports a clean end', async () => {
  const seen = {};
  const { uri, server } = await host((stream, headers) => {
    seen.path = headers[':path'];
    seen.type = headers['content-type'];
    seen.te = headers.te;
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    const r = new FrameReader(1 << 20);
    stream.on('data', (chunk) => {
      for (const p of r.push(chunk)) {
        const m = decode(MSG, p);
        const reply = Buffer.from(frame(encode(MSG, { requestId: m.requestId, workerInitRequest: { hostVersion: '4' } })));
        // Split the reply across two writes.
        stream.write(reply.subarray(0, 3));
        setTimeout(() => stream.end(reply.subarray(3)), 10);
      }
    });
  });
  try {
    const s = new EventStream(uri, { maxMessageLength: 1000 });
    const got = [];
    const closed = new Promise((resolve) => s.on('close', resolve));
    s.on('message', (m) => got.push(m));
    s.write({ requestId: 'q', startStream: { workerId: 'w' } });
    assert.equal(await closed, null);
    assert.deepEqual(got, [{ requestId: 'q', content: 'workerInitRequest', workerInitRequest: { hostVersion: '4' } }]);
    assert.deepEqual(seen, { path: PATH, type: 'application/grpc', te: 'trailers' });
    assert.throws(() => s.write({ requestId: 'x' }), /closed stream/);
  } finally {
    server.close();
  }
});

test('grpc-status trailers and a missing status end the stream with an error', async () => {
  for (const [trailers, re] of [
    [{ 'grpc-status': '7', 'grpc-message': 'worker%20id%20unknown' }, /grpc-status 7: worker id unknown/],
    [null, /ended without a grpc-status/],
  ]) {
    const { uri, server } = await host((stream) => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: trailers !== null });
      if (trailers) stream.on('wantTrailers', () => stream.sendTrailers(trailers));
      stream.end(Buffer.from([0, 0, 0]));
    });
    try {
      const s = new EventStream(uri);
      s.on('message', () => assert.fail('no message expected'));
      const err = await new Promise((resolve) => s.on('close', resolve));
      assert.ok(err instanceof GrpcError, String(err));
      assert.match(err.message, re);
    } finally {
      server.close();
    }
  }
});

test('a message over the limit is refused both ways', async () => {
  const { uri, server } = await host((stream) => {
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
    stream.write(frame(encode(MSG, { requestId: 'x'.repeat(100) })));
  });
  try {
    const s = new EventStream(uri, { maxMessageLength: 50 });
    assert.throws(() => s.write({ requestId: 'y'.repeat(100) }), (e) => e.code === 8);
    const err = await new Promise((resolve) => s.on('close', resolve));
    assert.match(err.message, /larger than max \(\d+ vs\. 50\)/);
  } finally {
    server.close();
  }
});

test('a host that is not there is an error', async () => {
  const { uri, server } = await host(() => {});
  await new Promise((resolve) => server.close(resolve));
  const s = new EventStream(uri);
  const err = await new Promise((resolve) => s.on('close', resolve));
  assert.match(err.message, /(connection|stream) to http:\/\/127\.0\.0\.1:\d+\/: .*ECONNREFUSED/);
});

test('parseArgs reads both flag sets; the --functions-* ones win', () => {
  const both = [
    '--host', '127.0.0.1', '--port', '4000', '--workerId', 'old-w', '--requestId', 'old-r', '--grpcMaxMessageLength', '100',
    '--functions-uri', 'http://127.0.0.1:5000/', '--functions-worker-id', 'w', '--functions-request-id', 'r',
    '--functions-grpc-max-message-length', '200',
  ];
  assert.deepEqual(parseArgs(both), { uri: 'http://127.0.0.1:5000/', workerId: 'w', requestId: 'r', maxMessageLength: 200 });
  const legacy = ['--host', '127.0.0.1', '--port', '4000', '--workerId', 'old-w', '--requestId=old-r', '--grpcMaxMessageLength', '100'];
  assert.deepEqual(parseArgs(legacy), { uri: 'http://127.0.0.1:4000/', workerId: 'old-w', requestId: 'old-r', maxMessageLength: 100 });
  assert.equal(parseArgs(['--host', '::1', '--port', '1', '--workerId', 'w', '--requestId', 'r']).uri, 'http://[::1]:1/');
  assert.throws(() => parseArgs(['--functions-uri', 'http://x/']), /missing --functions-worker-id, --functions-request-id/);
  assert.throws(() => parseArgs(['--functions-uri', 'nope', '--workerId', 'w', '--requestId', 'r']), /not a URL/);
  assert.throws(() => parseArgs(['--functions-uri', 'http://x/', '--workerId', 'w', '--requestId', 'r', '--grpcMaxMessageLength', '-1']), /positive integer/);
});
