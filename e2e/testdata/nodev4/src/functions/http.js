const { app } = require('@azure/functions');

// hello echoes what it got: route parameter, query, a header and the body.
app.http('hello', {
  methods: ['GET', 'POST'],
  authLevel: 'anonymous',
  route: 'hello/{name}',
  handler: async (request, context) => {
    context.log(`hello ${request.params.name}`);
    const body = request.method === 'POST' ? await request.text() : '';
    return {
      status: Number(request.query.get('status') || 200),
      headers: { 'x-echo': request.headers.get('x-test') || '', 'content-type': 'application/json' },
      cookies: [{ name: 'session', value: 'abc', path: '/', httpOnly: true, sameSite: 'Lax', maxAge: 60 }],
      jsonBody: {
        name: request.params.name,
        method: request.method,
        query: request.query.get('q'),
        body,
        host: request.headers.get('host'),
        invocationId: context.invocationId,
      },
    };
  },
});

// fail throws: the invocation fails with the error's message and stack.
app.http('fail', {
  methods: ['GET'],
  authLevel: 'function',
  handler: async () => {
    throw new Error('fail always fails');
  },
});

// swapped is replaced by a preInvocation hook (src/index.js).
app.http('swapped', {
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: () => ({ body: 'the original handler' }),
});

// crash ends the worker process in the middle of an invocation: the host
// fails the invocation and starts a new worker.
app.http('crash', {
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: () => {
    process.exit(3);
  },
});
