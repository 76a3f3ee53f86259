// MCP resources: an MCP App view and a resource template.
const { app } = require('@azure/functions');

const WIDGET = `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Node widget</title></head>
<body><main id="weather">Waiting for node_weather.</main></body>
</html>
`;

// The view of node_weather (its metadata's ui.resourceUri).
app.mcpResource('nodeWidget', {
  uri: 'ui://node/widget.html',
  resourceName: 'Node widget',
  title: 'Node weather widget',
  description: 'The view that shows node_weather results.',
  mimeType: 'text/html;profile=mcp-app',
  metadata: JSON.stringify({ ui: { prefersBorder: true } }),
  handler: () => WIDGET,
});

// A templated resource: {id} comes back in the trigger metadata.
app.mcpResource('nodeItem', {
  uri: 'node://items/{id}',
  resourceName: 'Node item',
  description: 'One item, by id.',
  mimeType: 'application/json',
  handler: (resourceContext, context) =>
    JSON.stringify({ id: context.triggerMetadata.id, uri: resourceContext.uri }),
});
