const { app, output } = require('@azure/functions');

const audit = output.storageQueue({ queueName: 'audit', connection: 'AzureWebJobsStorage' });

// jobs answers each message on the "done" queue ($return) and writes an
// audit entry through an extra output.
app.storageQueue('jobs', {
  queueName: 'jobs',
  connection: 'AzureWebJobsStorage',
  return: output.storageQueue({ queueName: 'done', connection: 'AzureWebJobsStorage' }),
  extraOutputs: [audit],
  handler: (message, context) => {
    context.log(`dequeueCount=${context.triggerMetadata.dequeueCount}`);
    context.log(`secret=${message}`);
    context.extraOutputs.set(audit, { seen: message, id: context.triggerMetadata.id });
    return `done:${typeof message === 'string' ? message : JSON.stringify(message)}`;
  },
});

// fragile kills its worker on a message's first delivery and answers on
// the "survived" queue after that.
app.storageQueue('fragile', {
  queueName: 'fragile',
  connection: 'AzureWebJobsStorage',
  return: output.storageQueue({ queueName: 'survived', connection: 'AzureWebJobsStorage' }),
  handler: (message, context) => {
    if (context.triggerMetadata.dequeueCount === 1) {
      process.exit(3);
    }
    return `${message} on delivery ${context.triggerMetadata.dequeueCount}`;
  },
});
