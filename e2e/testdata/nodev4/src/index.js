// App-level hooks. Each one leaves a trace that tests can follow through
// the worker's logs (or, for appTerminate, a marker file).
const fs = require('node:fs');
const { app } = require('@azure/functions');

let appName = 'not started';

app.hook.appStart((context) => {
  // appStart and appTerminate share their hookData.
  context.hookData.startedAt = Date.now();
  appName = 'nodev4';
});

app.hook.preInvocation((context) => {
  context.hookData.pre = `pre:${context.invocationContext.functionName}`;
  if (context.invocationContext.functionName === 'swapped') {
    context.functionHandler = () => ({ body: 'swapped by a preInvocation hook' });
  }
});

app.hook.postInvocation((context) => {
  context.invocationContext.log(
    `postInvocation ${context.invocationContext.functionName} hookData=${context.hookData.pre} app=${appName} error=${context.error}`,
  );
});

// A log hook rewrites user logs that carry a secret.
app.hook.log((context) => {
  if (context.category === 'user' && context.message.startsWith('secret=')) {
    context.message = 'secret=[redacted]';
  }
});

app.hook.appTerminate((context) => {
  const marker = process.env.NODEV4_TERMINATE_MARKER;
  if (marker) {
    fs.writeFileSync(marker, `terminated ${appName} started=${typeof context.hookData.startedAt}\n`);
  }
});
