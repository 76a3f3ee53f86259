// Durable Functions patterns, each written as the durable-functions
// documentation shows them, for funcd's end-to-end tests.
const { app } = require('@azure/functions');
const df = require('durable-functions');

// HTTP starter: POST /api/orchestrators/{name}[/{id}] with the input as
// the body; answers with the check-status response.
app.http('start', {
    route: 'orchestrators/{name}/{id?}',
    methods: ['POST'],
    authLevel: 'anonymous',
    extraInputs: [df.input.durableClient()],
    handler: async (request, context) => {
        const client = df.getClient(context);
        const body = await request.text();
        const options = { input: body ? JSON.parse(body) : undefined };
        if (request.params.id) {
            options.instanceId = request.params.id;
        }
        const id = await client.startNew(request.params.name, options);
        context.log(`Started orchestration with ID = '${id}'.`);
        if (request.query.get('wait')) {
            return client.waitForCompletionOrCreateCheckStatusResponse(request, id, {
                timeoutInMilliseconds: 20000,
                retryIntervalInMilliseconds: 100,
            });
        }
        return client.createCheckStatusResponse(request, id);
    },
});

// Client operations through the durableClient binding:
// GET /api/client/{id} returns getStatus; POST /api/client/{id}/{event}
// raises an event; POST /api/entity/{key}?op=add signals the counter.
app.http('clientStatus', {
    route: 'client/{id}',
    methods: ['GET'],
    authLevel: 'anonymous',
    extraInputs: [df.input.durableClient()],
    handler: async (request, context) => {
        const client = df.getClient(context);
        const status = await client.getStatus(request.params.id, { showHistory: true, showHistoryOutput: true });
        return { jsonBody: status };
    },
});

app.http('clientRaise', {
    route: 'client/{id}/{event}',
    methods: ['POST'],
    authLevel: 'anonymous',
    extraInputs: [df.input.durableClient()],
    handler: async (request, context) => {
        const client = df.getClient(context);
        await client.raiseEvent(request.params.id, request.params.event, await request.json());
        return { status: 202 };
    },
});

app.http('clientEntity', {
    route: 'entity/{key}',
    methods: ['GET', 'POST'],
    authLevel: 'anonymous',
    extraInputs: [df.input.durableClient()],
    handler: async (request, context) => {
        const client = df.getClient(context);
        const id = new df.EntityId('Counter', request.params.key);
        if (request.method === 'POST') {
            await client.signalEntity(id, request.query.get('op') || 'add', Number(await request.text() || '1'));
            return { status: 202 };
        }
        const state = await client.readEntityState(id);
        return { jsonBody: state };
    },
});

// POST /api/manage/{id}/{op}: terminate, suspend, resume, rewind (with
// ?reason=) or purge, through the client; a client error is a 400 with
// its message.
app.http('clientManage', {
    route: 'manage/{id}/{op}',
    methods: ['POST'],
    authLevel: 'anonymous',
    extraInputs: [df.input.durableClient()],
    handler: async (request, context) => {
        const client = df.getClient(context);
        const { id, op } = request.params;
        const reason = request.query.get('reason') || op;
        try {
            switch (op) {
                case 'terminate':
                    await client.terminate(id, reason);
                    break;
                case 'suspend':
                    await client.suspend(id, reason);
                    break;
                case 'resume':
                    await client.resume(id, reason);
                    break;
                case 'rewind':
                    await client.rewind(id, reason);
                    break;
                case 'purge':
                    return { jsonBody: await client.purgeInstanceHistory(id) };
                default:
                    return { status: 404 };
            }
        } catch (e) {
            return { status: 400, body: e.message };
        }
        return { status: 202 };
    },
});

// GET /api/instances[?status=A,B]: getStatusBy (or getStatusAll), which
// follows the continuation token.
app.http('clientList', {
    route: 'instances',
    methods: ['GET'],
    authLevel: 'anonymous',
    extraInputs: [df.input.durableClient()],
    handler: async (request, context) => {
        const client = df.getClient(context);
        const status = request.query.get('status');
        const list = status
            ? await client.getStatusBy({ runtimeStatus: status.split(',') })
            : await client.getStatusAll();
        return { jsonBody: list };
    },
});

df.app.activity('SayHello', { handler: (name) => `Hello ${name}!` });

df.app.activity('Double', { handler: (n) => n * 2 });

const attempts = {};
df.app.activity('Flaky', {
    handler: (key) => {
        attempts[key] = (attempts[key] || 0) + 1;
        if (attempts[key] < 3) {
            throw new Error(`attempt ${attempts[key]} of ${key} failed`);
        }
        return `${key} succeeded on attempt ${attempts[key]}`;
    },
});

df.app.activity('Fail', {
    handler: (msg) => {
        throw new Error(msg);
    },
});

// Function chaining.
df.app.orchestration('Chain', function* (context) {
    const out = [];
    out.push(yield context.df.callActivity('SayHello', 'Tokyo'));
    out.push(yield context.df.callActivity('SayHello', 'Seattle'));
    out.push(yield context.df.callActivity('SayHello', 'London'));
    return out;
});

// Chain5 adds 1 to its input five times, one activity after the other
// (the chain of the Durable Functions benchmark).
df.app.activity('Inc', { handler: (n) => n + 1 });

df.app.orchestration('Chain5', function* (context) {
    let n = context.df.getInput() || 0;
    for (let i = 0; i < 5; i++) {
        n = yield context.df.callActivity('Inc', n);
    }
    return n;
});

// Fan-out/fan-in over the input's numbers.
df.app.orchestration('FanOut', function* (context) {
    const n = context.df.getInput() || 5;
    const tasks = [];
    for (let i = 1; i <= n; i++) {
        tasks.push(context.df.callActivity('Double', i));
    }
    const results = yield context.df.Task.all(tasks);
    return results.reduce((a, b) => a + b, 0);
});

// Monitor: poll a job's status on a durable timer until it is done or the
// monitor expires.
df.app.activity('CheckJob', { handler: (poll) => (poll >= 2 ? 'done' : 'running') });

df.app.orchestration('Monitor', function* (context) {
    const expiry = new Date(context.df.currentUtcDateTime.getTime() + 30000);
    for (let poll = 0; context.df.currentUtcDateTime < expiry; poll++) {
        const status = yield context.df.callActivity('CheckJob', poll);
        context.df.setCustomStatus({ poll, status });
        if (status === 'done') {
            return poll;
        }
        yield context.df.createTimer(new Date(context.df.currentUtcDateTime.getTime() + 50));
    }
    return 'expired';
});

// Human interaction: an approval event, or a timeout.
df.app.orchestration('Approval', function* (context) {
    const seconds = context.df.getInput() || 60;
    context.df.setCustomStatus('waiting');
    const deadline = new Date(context.df.currentUtcDateTime.getTime() + seconds * 1000);
    const timeout = context.df.createTimer(deadline);
    const approval = context.df.waitForExternalEvent('Approval');
    const winner = yield context.df.Task.any([approval, timeout]);
    if (winner === approval) {
        timeout.cancel();
        context.df.setCustomStatus('approved');
        return `approved: ${JSON.stringify(approval.result)}`;
    }
    context.df.setCustomStatus('timed out');
    return 'timed out';
});

// Retries: Flaky fails twice, then succeeds.
df.app.orchestration('Retry', function* (context) {
    const options = new df.RetryOptions(100, 5);
    return yield context.df.callActivityWithRetry('Flaky', options, context.df.instanceId);
});

// Retries that run out: Flaky fails its first two attempts, so this fails
// until it is rewound; the third attempt then succeeds.
df.app.orchestration('RetryExhausted', function* (context) {
    const options = new df.RetryOptions(20, 2);
    const first = yield context.df.callActivityWithRetry('Flaky', options, context.df.instanceId);
    const second = yield context.df.callActivity('SayHello', 'again');
    return [first, second];
});

// A failure the orchestrator catches, then one it does not.
df.app.orchestration('Failing', function* (context) {
    try {
        yield context.df.callActivity('Fail', 'first');
    } catch (e) {
        context.df.setCustomStatus(`caught: ${e.message.includes('first')}`);
    }
    yield context.df.callActivity('Fail', 'second');
    return 'unreachable';
});

// Sub-orchestrations.
df.app.orchestration('Parent', function* (context) {
    const a = yield context.df.callSubOrchestrator('Chain');
    const b = yield context.df.callSubOrchestrator('FanOut', 3, `${context.df.instanceId}-child`);
    return { chain: a, sum: b };
});

// An eternal orchestration: counts to its input with continueAsNew.
df.app.orchestration('Eternal', function* (context) {
    const state = context.df.getInput() || { count: 0, limit: 3 };
    if (state.count >= state.limit) {
        return state.count;
    }
    yield context.df.createTimer(new Date(context.df.currentUtcDateTime.getTime() + 10));
    context.df.continueAsNew({ count: state.count + 1, limit: state.limit });
    return undefined;
});

// Entities: a counter, called and signalled from an orchestration.
df.app.entity('Counter', (context) => {
    const current = context.df.getState(() => 0);
    switch (context.df.operationName) {
        case 'add':
            context.df.setState(current + context.df.getInput());
            break;
        case 'reset':
            context.df.setState(0);
            break;
        case 'set':
            context.df.setState(context.df.getInput());
            break;
        case 'get':
            context.df.return(current);
            break;
    }
});

// A critical section: a read-modify-write of two counters that would lose
// updates if two ran interleaved.
df.app.orchestration('Transfer', function* (context) {
    const { from, to } = context.df.getInput();
    const a = new df.EntityId('Counter', from);
    const b = new df.EntityId('Counter', to);
    const lock = yield context.df.lock(a, b);
    const x = yield context.df.callEntity(a, 'get');
    const y = yield context.df.callEntity(b, 'get');
    yield context.df.createTimer(new Date(context.df.currentUtcDateTime.getTime() + 20));
    yield context.df.callEntity(a, 'set', x - 1);
    yield context.df.callEntity(b, 'set', y + 1);
    lock.release();
    return context.df.isLocked().isLocked;
});

df.app.orchestration('UseCounter', function* (context) {
    const id = new df.EntityId('Counter', context.df.getInput() || 'k');
    context.df.signalEntity(id, 'add', 5);
    yield context.df.callEntity(id, 'add', 2);
    return yield context.df.callEntity(id, 'get');
});

// Queue starter: a message {"name","id","input"} on the queue
// durable-starts starts that orchestration.
app.storageQueue('queueStart', {
    queueName: 'durable-starts',
    connection: 'AzureWebJobsStorage',
    extraInputs: [df.input.durableClient()],
    handler: async (message, context) => {
        const client = df.getClient(context);
        const id = await client.startNew(message.name, { instanceId: message.id, input: message.input });
        context.log(`Started orchestration with ID = '${id}' from the queue.`);
    },
});
