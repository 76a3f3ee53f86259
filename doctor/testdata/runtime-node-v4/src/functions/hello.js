const { app } = require('@azure/functions');
app.http('hello', { handler: async () => ({ body: 'hi' }) });
