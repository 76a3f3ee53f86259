// The worker benchmark's function: GET /api/hello answers "Hello, World",
// as bench/handler and bench/apps/nodehttp do.
const { app } = require('@azure/functions');

app.http('hello', {
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: () => ({ body: 'Hello, World', headers: { 'content-type': 'text/plain; charset=utf-8' } }),
});
