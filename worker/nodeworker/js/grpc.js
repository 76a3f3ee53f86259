'use strict';

// One gRPC bidirectional stream over node:http2: the FunctionRpc
// EventStream the worker opens to the host.
//
//   const s = new EventStream(uri, { maxMessageLength });
//   s.on('message', (msg) => ...);   // a decoded StreamingMessage
//   s.on('close', (err) => ...);     // once: err is null after a clean
//                                    // end (grpc-status 0), else an Error
//   s.write(streamingMessage);
//   s.end();                         // half-closes, then closes the session
//
// A message is a 5-byte prefix (compressed flag 0, big-endian uint32
// length) and the protobuf bytes; frames split across or packed into DATA
// chunks are reassembled. Messages longer than maxMessageLength are
// refused either way: writing one throws, receiving one ends the stream
// with an error. Compressed messages are refused too: the worker does not
// announce any grpc-accept-encoding.

const http2 = require('node:http2');
const { EventEmitter } = require('node:events');
const pb = require('./protobuf.js');

const PATH = '/AzureFunctionsRpcMessages.FunctionRpc/EventStream';
const MESSAGE = 'AzureFunctionsRpcMessages.StreamingMessage';
const DEFAULT_MAX = 4 * 1024 * 1024;

class GrpcError extends Error {
  constructor(message, code) {
    super(message);
    this.name = 'GrpcError';
    this.code = code; // the grpc-status, if the host sent one
  }
}

// FrameReader turns DATA chunks into whole gRPC message payloads.
class FrameReader {
  constructor(maxMessageLength) {
    this.max = maxMessageLength;
    this.chunks = [];
    this.buffered = 0;
  }

  // push adds a chunk and returns the payloads it completed; it throws a
  // GrpcError on a compressed or over-long message.
  push(chunk) {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const out = [];
    for (;;) {
      if (this.buffered < 5) return out;
      const head = this.peek(5);
      if (head[0] !== 0) throw new GrpcError(`received a message with compressed flag ${head[0]}; no compression was negotiated`, 12);
      const len = ((head[1] << 24) >>> 0) + (head[2] << 16) + (head[3] << 8) + head[4];
      if (len > this.max) throw new GrpcError(`received message larger than max (${len} vs. ${this.max})`, 8);
      if (this.buffered < 5 + len) return out;
      const frame = this.take(5 + len);
      out.push(frame.subarray(5));
    }
  }

  // pending is the number of bytes of an incomplete message.
  get pending() {
    return this.buffered;
  }

  peek(n) {
    if (this.chunks[0].length >= n) return this.chunks[0].subarray(0, n);
    this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0].subarray(0, n);
  }

  take(n) {
    let b;
    if (this.chunks[0].length >= n) {
      b = this.chunks[0].subarray(0, n);
      if (this.chunks[0].length === n) this.chunks.shift();
      else this.chunks[0] = this.chunks[0].subarray(n);
    } else {
      const all = Buffer.concat(this.chunks);
      b = all.subarray(0, n);
      this.chunks = all.length > n ? [all.subarray(n)] : [];
    }
    this.buffered -= n;
    return b;
  }
}

// frame returns payload with the gRPC message prefix.
function frame(payload) {
  const b = Buffer.allocUnsafe(5 + payload.length);
  b[0] = 0;
  b.writeUInt32BE(payload.length, 1);
  b.set(payload, 5);
  return b;
}

class EventStream extends EventEmitter {
  constructor(uri, { maxMessageLength = DEFAULT_MAX } = {}) {
    super();
    this.uri = uri;
    this.max = maxMessageLength;
    this.reader = new FrameReader(maxMessageLength);
    this.closed = false;
    this.status = undefined; // grpc-status once received
    this.session = http2.connect(uri);
    this.session.on('error', (err) => this.close(new GrpcError(`connection to ${uri}: ${err.message}`)));
    this.session.on('goaway', () => {});
    this.req = this.session.request({
      ':method': 'POST',
      ':path': PATH,
      'content-type': 'application/grpc',
      te: 'trailers',
      'user-agent': 'funcd-node-worker',
    });
    this.req.on('response', (headers) => {
      const st = headers[':status'];
      if (st !== 200) {
        this.close(new GrpcError(`host answered HTTP ${st}`));
        return;
      }
      if (headers['grpc-status'] !== undefined) this.trailers(headers); // trailers-only
    });
    this.req.on('trailers', (headers) => this.trailers(headers));
    this.req.on('data', (chunk) => {
      if (this.closed) return;
      let payloads;
      try {
        payloads = this.reader.push(chunk);
      } catch (err) {
        this.req.close(http2.constants.NGHTTP2_CANCEL);
        this.close(err);
        return;
      }
      for (const p of payloads) {
        let msg;
        try {
          msg = pb.decode(MESSAGE, p);
        } catch (err) {
          this.req.close(http2.constants.NGHTTP2_CANCEL);
          this.close(new GrpcError(`decoding a message from the host: ${err.message}`, 13));
          return;
        }
        this.emit('message', msg);
        if (this.closed) return;
      }
    });
    this.req.on('end', () => {
      if (this.status === undefined) this.close(new GrpcError('the stream ended without a grpc-status', 13));
      else if (this.status === 0) this.close(null);
      else this.close(this.statusError);
    });
    this.req.on('error', (err) => this.close(new GrpcError(`stream to ${uri}: ${err.message}`)));
    this.req.on('close', () => {
      if (!this.closed) {
        const code = this.req.rstCode;
        this.close(new GrpcError(`the stream was reset (HTTP/2 code ${code})`, 1));
      }
    });
  }

  trailers(headers) {
    const code = Number(headers['grpc-status']);
    this.status = code;
    if (code !== 0) {
      let message = headers['grpc-message'] || '';
      try {
        message = decodeURIComponent(message);
      } catch {
        // keep it as sent
      }
      this.statusError = new GrpcError(`grpc-status ${code}${message ? ': ' + message : ''}`, code);
    }
  }

  // write sends a StreamingMessage; it throws when the message is too large.
  write(msg) {
    if (this.closed) throw new GrpcError('write on a closed stream');
    const payload = pb.encode(MESSAGE, msg);
    if (payload.length > this.max) throw new GrpcError(`message larger than max (${payload.length} vs. ${this.max})`, 8);
    return this.req.write(frame(payload));
  }

  // end half-closes the stream and closes the session once the host is
  // done; cb runs when everything is closed.
  end(cb) {
    if (!this.req.writableEnded) this.req.end();
    this.session.close(cb);
  }

  // destroy drops the connection at once.
  destroy() {
    this.req.close(http2.constants.NGHTTP2_CANCEL);
    this.session.destroy();
  }

  close(err) {
    if (this.closed) return;
    this.closed = true;
    if (err && this.reader.pending > 0 && /ended without/.test(err.message)) {
      err.message += ` (${this.reader.pending} bytes of an incomplete message)`;
    }
    this.emit('close', err);
    if (err) {
      this.session.destroy();
      return;
    }
    if (!this.req.writableEnded) this.req.end();
    this.session.close();
  }
}

module.exports = { EventStream, FrameReader, GrpcError, frame, PATH };
