const { app, output } = require('@azure/functions');

const copy = output.storageBlob({ path: 'copies/{name}', connection: 'AzureWebJobsStorage' });

// copyBlob copies each new blob in "uploads" to "copies", upper-cased.
app.storageBlob('copyBlob', {
  path: 'uploads/{name}',
  connection: 'AzureWebJobsStorage',
  extraOutputs: [copy],
  handler: (blob, context) => {
    context.log(`blob ${context.triggerMetadata.name}: ${blob.length} bytes`);
    context.extraOutputs.set(copy, Buffer.from(blob.toString('utf8').toUpperCase()));
  },
});
