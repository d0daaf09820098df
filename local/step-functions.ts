import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Context } from 'aws-lambda';
import { StateMachine } from 'aws-local-stepfunctions';

type JSONValue = Parameters<StateMachine['run']>[0];
/** A state machine definition, as the local runner takes it. */
export type SyncDefinition = ConstructorParameters<typeof StateMachine>[0];

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ACCOUNT = '000000000000';
const REGION = 'us-east-1';
export const LOCAL_STATE_MACHINE_ARN = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:connector-sync`;

type StepHandler = (event: unknown, context: Context) => Promise<unknown>;

export interface LocalExecution {
  name: string;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'ABORTED';
  input: unknown;
  done: Promise<void>;
}

export interface LocalStepFunctions {
  /** The endpoint to point an SFNClient at (SFN_ENDPOINT). */
  readonly endpoint: string;
  readonly stateMachineArn: string;
  readonly executions: ReadonlyMap<string, LocalExecution>;
  /** Resolves once no execution is running (continuations included). */
  idle(): Promise<void>;
  /**
   * State transitions so far over all executions, as AWS bills them: every state entered
   * (Choice, Wait and Task states alike; a Task's retries re-enter it and are counted apart).
   */
  transitions(): { entered: number; retried: number; byState: Record<string, number> };
  stop(): Promise<void>;
}

export interface LocalStepFunctionsOptions {
  /** Milliseconds each Retry waits instead of the definition's backoff (tests make retries instant). */
  retryDelayMs?: number;
  /** Milliseconds each Wait state waits instead of the provider's Retry-After. */
  waitMs?: number;
}

/**
 * Step Functions on this machine: executes statemachines/sync.asl.json itself with
 * aws-local-stepfunctions, every Task state mapped to the same handler the deployed Lambda
 * runs (statemachines/sync.tasks.json). It answers StartExecution in the Step Functions
 * JSON protocol, so triggerSync uses the real SFN client; a failed execution goes to the
 * recovery handler, as the EventBridge rule sends it in AWS.
 */
export async function startLocalStepFunctions(options: LocalStepFunctionsOptions = {}): Promise<LocalStepFunctions> {
  const definition = await loadSyncDefinition();
  const machine = new StateMachine(definition, { validationOptions: { checkPaths: true } });

  // Loaded on first use: handlers build their runtime from the environment the stack sets after this starts.
  const loaded = new Map<string, Promise<StepHandler>>();
  const load = (name: string): Promise<StepHandler> => {
    if (!loaded.has(name)) {
      loaded.set(name, import(pathToFileURL(join(ROOT, 'functions/sync', `${name}.ts`)).href).then((module: { handler: StepHandler }) => module.handler));
    }
    return loaded.get(name)!;
  };
  const taskHandlers: Record<string, (input: JSONValue) => Promise<JSONValue>> = {};
  for (const [stateName, state] of Object.entries(definition.States as Record<string, { Type: string; Resource?: string }>)) {
    if (state.Type !== 'Task') continue;
    if (state.Resource === 'arn:aws:states:::states:startExecution') {
      // Step Functions' own integration: start the next execution here.
      taskHandlers[stateName] = async (input) => {
        const { Name, Input } = input as { Name: string; Input: unknown };
        startExecution(Name, Input);
        return { ExecutionArn: executionArn(Name), StartDate: Date.now() };
      };
      continue;
    }
    const handlerName = /function:connector-(\w+)$/.exec(state.Resource ?? '')?.[1];
    if (!handlerName) throw new Error(`state ${stateName} names no known handler`);
    taskHandlers[stateName] = async (input) => (await (await load(handlerName))(input, lambdaContext(handlerName))) as JSONValue;
  }
  const recover = (event: unknown) => load('recoverSync').then((handler) => handler(event, lambdaContext('recoverSync')));

  const executions = new Map<string, LocalExecution>();
  const transitions = { entered: 0, retried: 0, byState: {} as Record<string, number> };
  const countTransitions = async (events: AsyncGenerator<{ type: string; state?: { name: string } }>): Promise<void> => {
    for await (const event of events) {
      if (event.type === 'StateRetried') transitions.retried += 1;
      if (event.type !== 'StateEntered' || !event.state) continue;
      transitions.entered += 1;
      transitions.byState[event.state.name] = (transitions.byState[event.state.name] ?? 0) + 1;
    }
  };
  const running = new Set<Promise<void>>();
  const retryOverrides = Object.fromEntries(Object.keys(taskHandlers).map((name) => [name, options.retryDelayMs ?? 0]));
  const waitOverrides = Object.fromEntries(
    Object.entries(definition.States as Record<string, { Type: string }>)
      .filter(([, state]) => state.Type === 'Wait')
      .map(([name]) => [name, options.waitMs ?? 0]),
  );

  function startExecution(name: string, input: unknown): LocalExecution {
    if (executions.has(name)) throw Object.assign(new Error(`Execution already exists: '${executionArn(name)}'`), { type: 'ExecutionAlreadyExists' });
    const run = machine.run(input as JSONValue, {
      overrides: {
        taskResourceLocalHandlers: taskHandlers,
        ...(options.retryDelayMs !== undefined && { retryIntervalOverrides: retryOverrides }),
        ...(options.waitMs !== undefined && { waitTimeOverrides: waitOverrides }),
      },
      context: { StateMachine: { Id: LOCAL_STATE_MACHINE_ARN, Name: 'connector-sync' }, Execution: { Id: executionArn(name), Name: name } },
    });
    const execution: LocalExecution = { name, status: 'RUNNING', input, done: Promise.resolve() };
    const counted = countTransitions(run.eventLogs).catch(() => undefined);
    const finished = run.result.then(
      () => {
        execution.status = 'SUCCEEDED';
      },
      async () => {
        execution.status = 'FAILED';
        await recover({ detail: { status: 'FAILED', name, input: JSON.stringify(input) } }).catch(() => undefined);
      },
    );
    // The event log closes with the execution; waiting for it keeps the transition count exact at idle().
    execution.done = Promise.all([finished, counted]).then(() => undefined);
    executions.set(name, execution);
    running.add(execution.done);
    void execution.done.finally(() => running.delete(execution.done));
    return execution;
  }

  const server: Server = createServer((req, res) => {
    handleApi(req, res, startExecution).catch(() => sendJson(res, 500, { __type: 'InternalFailure', message: 'local runner failed' }));
  });
  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', () => ready()));
  const address = server.address();
  return {
    endpoint: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`,
    stateMachineArn: LOCAL_STATE_MACHINE_ARN,
    executions,
    idle: async () => {
      while (running.size > 0) await Promise.all([...running]);
    },
    transitions: () => ({ ...transitions, byState: { ...transitions.byState } }),
    stop: async () => {
      server.closeAllConnections();
      await new Promise((done) => server.close(done));
    },
  };
}

/**
 * statemachines/sync.asl.json as CDK deploys it: every `${...}` substitution replaced by the
 * ARN of the Lambda that statemachines/sync.tasks.json names (`function:connector-<handler>`).
 */
export async function loadSyncDefinition(): Promise<SyncDefinition> {
  const definitionText = await readFile(join(ROOT, 'statemachines/sync.asl.json'), 'utf8');
  const tasks = JSON.parse(await readFile(join(ROOT, 'statemachines/sync.tasks.json'), 'utf8')) as Record<string, string>;
  return JSON.parse(
    definitionText.replace(/\$\{(\w+)\}/g, (_, name: string) => `arn:aws:lambda:${REGION}:${ACCOUNT}:function:connector-${tasks[name]}`),
  );
}

/** The one Step Functions action the service calls: StartExecution (JSON 1.0 protocol). */
async function handleApi(
  req: IncomingMessage,
  res: ServerResponse,
  startExecution: (name: string, input: unknown) => LocalExecution,
): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const action = String(req.headers['x-amz-target'] ?? '').replace('AWSStepFunctions.', '');
  if (action !== 'StartExecution') return sendJson(res, 400, { __type: 'UnknownOperationException', message: `${action} is not served locally` });
  const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { name?: string; input?: string };
  const name = body.name ?? randomUUID();
  try {
    startExecution(name, JSON.parse(body.input ?? '{}'));
  } catch (error) {
    return sendJson(res, 400, { __type: (error as { type?: string }).type ?? 'InvalidExecutionInput', message: (error as Error).message });
  }
  sendJson(res, 200, { executionArn: executionArn(name), startDate: Date.now() / 1000 });
}

function executionArn(name: string): string {
  return `arn:aws:states:${REGION}:${ACCOUNT}:execution:connector-sync:${name}`;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.statusCode = status;
  res.setHeader('content-type', 'application/x-amz-json-1.0');
  res.end(JSON.stringify(body));
}

function lambdaContext(name: string): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: `connector-local-${name}`,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:connector-${name}`,
    memoryLimitInMB: '1024',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/connector-local-${name}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => 300_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
