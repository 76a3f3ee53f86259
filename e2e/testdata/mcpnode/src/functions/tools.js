// MCP tools. Each returns one of the shapes the library turns into the
// tool result envelope (a JSON string: {"type", "content",
// "structuredContent"?}) that the host maps to a CallToolResult.
const {
  app,
  arg,
  McpContent,
  McpImageContent,
  McpResourceLinkContent,
  McpTextContent,
  McpToolResponse,
} = require('@azure/functions');

// node_echo answers with its required message, as one text block.
app.mcpTool('nodeEcho', {
  toolName: 'node_echo',
  description: 'Echoes the message it is given.',
  toolProperties: [
    { propertyName: 'message', propertyType: 'string', description: 'The text to echo.', isRequired: true },
  ],
  handler: (toolContext) => toolContext.arguments.message,
});

// node_weather answers with text for the model and structured content for
// an MCP App view (ui://node/widget.html). Its properties use the
// library's builder: city required, days optional.
app.mcpTool('nodeWeather', {
  toolName: 'node_weather',
  description: 'Reports the weather of a city, with structured content.',
  toolProperties: {
    city: arg.string().describe('The city.'),
    days: arg.number().describe('How many days ahead.').optional(),
  },
  metadata: JSON.stringify({ ui: { resourceUri: 'ui://node/widget.html' } }),
  resultSchema: JSON.stringify({
    type: 'object',
    properties: { city: { type: 'string' }, days: { type: 'number' }, sky: { type: 'string' } },
    required: ['city', 'sky'],
  }),
  handler: (toolContext) => {
    const { city } = toolContext.arguments;
    const days = Number(toolContext.arguments.days ?? 1);
    return new McpToolResponse({
      content: [new McpTextContent(`${city}: clear for ${days} day(s)`)],
      structuredContent: { city, days, sky: 'clear' },
    });
  },
});

// node_fail always throws.
app.mcpTool('nodeFail', {
  toolName: 'node_fail',
  description: 'Always fails.',
  toolProperties: [],
  handler: () => {
    throw new Error('node_fail always fails');
  },
});

// node_args reports what the host put in the trigger metadata: each
// argument as a string (mcptoolargs) and the session (mcpsessionid), next
// to the raw arguments of the invocation context.
app.mcpTool('nodeArgs', {
  toolName: 'node_args',
  description: 'Reports its arguments as the trigger metadata carries them.',
  toolProperties: [
    { propertyName: 'text', propertyType: 'string', description: 'Some text.', isRequired: true },
    { propertyName: 'count', propertyType: 'integer', description: 'A number.' },
    { propertyName: 'tags', propertyType: 'string', description: 'Some tags.', isArray: true },
  ],
  handler: (toolContext, context) => {
    context.log(`node_args session=${context.triggerMetadata.mcpsessionid}`);
    return {
      mcptoolargs: context.triggerMetadata.mcptoolargs,
      mcpsessionid: context.triggerMetadata.mcpsessionid,
      arguments: toolContext.arguments,
      sessionid: toolContext.sessionid,
      transport: toolContext.transport && toolContext.transport.name,
    };
  },
});

// node_multi answers with several content blocks: text, an image (a
// Buffer, sent as base64) and a link to the widget resource.
app.mcpTool('nodeMulti', {
  toolName: 'node_multi',
  description: 'Answers with several content blocks.',
  toolProperties: [],
  handler: () => [
    new McpTextContent('three blocks'),
    new McpImageContent({ data: Buffer.from('PNG!'), mimeType: 'image/png' }),
    new McpResourceLinkContent({ uri: 'ui://node/widget.html', name: 'Node widget', mimeType: 'text/html;profile=mcp-app' }),
  ],
});

// Point is a class marked as MCP content: a tool returning one answers
// with its JSON as text and as structured content.
class Point {
  constructor(x, y) {
    this.x = x;
    this.y = y;
  }
}
McpContent(Point);

// node_point answers with a marked object.
app.mcpTool('nodePoint', {
  toolName: 'node_point',
  description: 'Answers with a point, as text and structured content.',
  toolProperties: {
    x: arg.integer().describe('The x coordinate.'),
    y: arg.integer().describe('The y coordinate.'),
  },
  handler: (toolContext) => new Point(Number(toolContext.arguments.x), Number(toolContext.arguments.y)),
});
