// An MCP prompt: its text comes back as one user message.
const { app, promptArg } = require('@azure/functions');

app.mcpPrompt('nodeGreeting', {
  promptName: 'node_greeting',
  title: 'Greeting',
  description: 'Asks for a greeting.',
  promptArguments: { name: promptArg.describe('Who to greet.').isRequired(), tone: promptArg.describe('How.') },
  handler: (prompt) => 'Greet ' + prompt.arguments.name + ' in a ' + (prompt.arguments.tone || 'plain') + ' tone.',
});
