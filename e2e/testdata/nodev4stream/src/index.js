// HTTP streaming: the library serves HTTP itself and reports its address
// to the host as the HttpUri capability.
const { app } = require('@azure/functions');

app.setup({ enableHttpStream: true });

app.http('stream', {
  methods: ['GET', 'POST'],
  authLevel: 'anonymous',
  handler: async (request) => ({ body: request.body ?? 'no body' }),
});
