// A plain Node.js http server for the worker benchmark
// (bench/cmd/workerbench): the baseline of the Node.js worker behind funcd.
// It answers GET /api/hello with "Hello, World" and GET / with an empty 200
// (for readiness probes), on 127.0.0.1 and the port given as its argument,
// or as a custom handler behind funcd (bench/apps/nodeforward) on
// FUNCTIONS_CUSTOMHANDLER_PORT.
'use strict';

const http = require('node:http');

const greeting = 'Hello, World';
const port = Number(process.argv[2] ?? process.env.FUNCTIONS_CUSTOMHANDLER_PORT);
if (!Number.isInteger(port) || port <= 0) {
  console.error('usage: node server.js PORT (or FUNCTIONS_CUSTOMHANDLER_PORT set)');
  process.exit(2);
}

const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/api/hello') {
    res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(greeting) });
    res.end(greeting);
  } else if (req.url === '/') {
    res.writeHead(200, { 'Content-Length': 0 });
    res.end();
  } else {
    res.writeHead(404, { 'Content-Length': 0 });
    res.end();
  }
});
server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1');
