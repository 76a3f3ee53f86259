// An ES module among the CommonJS files.
import { app } from '@azure/functions';

app.http('esm', {
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: () => ({ body: `from an ES module: ${import.meta.url.endsWith('/esm.mjs')}` }),
});
