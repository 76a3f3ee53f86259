const { app } = require('@azure/functions');

app.timer('tick', {
  schedule: '0 */5 * * * *',
  retry: { strategy: 'fixedDelay', maxRetryCount: 3, delayInterval: { seconds: 10 } },
  handler: (timer, context) => {
    context.log(`tick isPastDue=${timer.isPastDue} next=${timer.scheduleStatus && timer.scheduleStatus.next}`);
  },
});

// A warmup function: listed, and run through the admin API.
app.warmup('warm', {
  handler: (warmupContext, context) => {
    context.log(`warm context=${JSON.stringify(warmupContext)} trigger=${context.options.trigger.type}`);
  },
});
