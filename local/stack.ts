import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ensureTable, localDynamoDbClient, startDynamoDbLocal, type DynamoDbLocal } from './dynamodb-local';
import { createConsole } from './console';
import { answerClientError, createLocalGateway, type LambdaHandler, type RouteSpec } from './gateway';
import { startLocalEventStream, type LocalEventStream, type StreamHandler } from './event-stream';
import { localJwks, localTokenVerifier } from './jwt-issuer';
import { startCustomerIoSandbox, type CustomerIoSandbox, type CustomerIoSandboxOptions } from './sandboxes/customerio';
import { startDelivrAiSandbox, type DelivrAiSandbox } from './sandboxes/delivrai';
import { startFathomSandbox, type FathomSandbox } from './sandboxes/fathom';
import { startO365Sandbox, type O365Sandbox } from './sandboxes/o365';
import { startSalesforceSandbox, type SalesforceSandbox } from './sandboxes/salesforce';
import { startLocalStepFunctions, type LocalStepFunctions, type LocalStepFunctionsOptions } from './step-functions';
import type { DataSetSizes } from './sandboxes/salesforce/data';
import { portOf, readSandboxPorts, startOnRecordedPort, writeSandboxPorts } from './sandboxes/shared/ports';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export interface LocalStackOptions {
  /** Port of the API on 127.0.0.1; 0 picks a free one. */
  port: number;
  /** Where all local state lives: database files, signing key, encryption key. */
  stateDir: string;
  /** Reuse a running DynamoDB Local (tests share one) instead of starting one on the state dir. */
  dynamoDbEndpoint?: string;
  /** Start DynamoDB Local in memory (faster; the data is gone when the stack stops) instead of in the state dir. */
  inMemoryDynamoDb?: boolean;
  tableName?: string;
  /** Sizes of the Salesforce sandbox's data set (defaults 340/1250/89). */
  salesforceSizes?: Partial<DataSetSizes>;
  /** Options of the Customer.io sandbox (500 people, key `sandbox-key`). */
  customerio?: CustomerIoSandboxOptions;
  /** Options of the Fathom sandbox (40 meetings, 120 people, key `sandbox-key`). */
  fathom?: Parameters<typeof startFathomSandbox>[0];
  /** Options of the Delivr.ai sandbox (200 visitors from 60 companies, key `sandbox-key`, organization `sandbox-org`). */
  delivrai?: Parameters<typeof startDelivrAiSandbox>[0];
  /** Options of the Office 365 sandbox (150 contacts). */
  o365?: Parameters<typeof startO365Sandbox>[0];
  /** How often the local scheduler looks for due syncs, in ms (as EventBridge Scheduler does in AWS); 0: never. */
  scheduleEveryMs?: number;
  /** Retry and Wait timing of the local state machine runner (tests make them instant). */
  stepFunctions?: LocalStepFunctionsOptions;
  /**
   * The domain events (on by default): the table's stream and its consumer. `false` leaves
   * both out, for tests that share one DynamoDB Local (see ensureTable); `haltBeforePublish`
   * is a test switch of the consumer.
   */
  events?: false | { haltBeforePublish?: boolean };
  /**
   * Send people back to the connections page after an OAuth consent: APP_URL defaults to it
   * (`npm start` does this). Off, and without APP_URL, the callback answers a short page of
   * its own, as it does for API callers.
   */
  oauthReturnsToPage?: boolean;
}

export interface LocalStack {
  readonly url: string;
  /** The connections page (web/dist), served by the stack next to the API. */
  readonly pageUrl: string;
  readonly stateDir: string;
  readonly tableName: string;
  readonly dynamoDbEndpoint: string;
  /** The Salesforce sandbox, unless SALESFORCE_CLIENT_ID points the stack at a real org. */
  readonly salesforce: SalesforceSandbox | undefined;
  readonly stepFunctions: LocalStepFunctions;
  /** The API-key providers' sandboxes, unless their base URLs point the stack at the real APIs. */
  readonly customerio: CustomerIoSandbox | undefined;
  readonly fathom: FathomSandbox | undefined;
  readonly delivrai: DelivrAiSandbox | undefined;
  /** The Office 365 sandbox (identity platform and Graph), unless O365_CLIENT_ID points at a real app. */
  readonly o365: O365Sandbox | undefined;
  /** The local bus: the domain events, one EventBridge-shaped JSON object a line, in `events.jsonl` of the state dir. */
  readonly events: { readonly file: string; caughtUp(): Promise<void> };
  stop(): Promise<void>;
}

/**
 * Runs the whole service on this machine: DynamoDB Local, the local gateway in front of
 * the very Lambda handlers AWS runs, and the local JWT issuer's keys. Handlers read their
 * configuration from the environment, as in Lambda, so this sets it before loading them.
 */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const stateDir = resolve(options.stateDir);
  claimProcess(stateDir);
  await mkdir(stateDir, { recursive: true });
  const tableName = options.tableName ?? 'connector-local';

  let dynamo: DynamoDbLocal | undefined;
  let endpoint = options.dynamoDbEndpoint;
  if (!endpoint) {
    const dbPath = options.inMemoryDynamoDb ? undefined : join(stateDir, 'dynamodb');
    if (dbPath) await mkdir(dbPath, { recursive: true });
    dynamo = await startDynamoDbLocal({ dbPath });
    endpoint = dynamo.endpoint;
  }
  const client = localDynamoDbClient(endpoint);
  await ensureTable(client, tableName, { stream: options.events !== false });
  client.destroy();

  // Provider sandboxes stand in for real providers unless the environment names real ones.
  // Each keeps the port this state directory recorded on its first start: connections
  // store provider URLs (Salesforce's instanceUrl), which must still answer after a restart.
  // Their data sets are generated from fixed seeds, so the same options give the same data.
  const ports = await readSandboxPorts(stateDir);
  const onPort = <T>(name: string, port: number | undefined, start: (port: number | undefined) => Promise<T>) =>
    startOnRecordedPort(name, stateDir, port, start);
  const salesforce = process.env.SALESFORCE_CLIENT_ID
    ? undefined
    : await onPort('Salesforce', ports.salesforce, (port) =>
        startSalesforceSandbox({ ...options.salesforceSizes, port, stateFile: join(stateDir, 'salesforce-sandbox.json') }),
      );
  const customerio = process.env.CUSTOMERIO_US_BASE_URL
    ? undefined
    : await onPort('Customer.io', ports.customerio, (port) => startCustomerIoSandbox({ ...options.customerio, ...(port && { port }) }));
  const fathom = process.env.FATHOM_BASE_URL
    ? undefined
    : await onPort('Fathom', ports.fathom, (port) => startFathomSandbox({ ...options.fathom, ...(port && { port }) }));
  const delivrai = process.env.DELIVRAI_BASE_URL
    ? undefined
    : await onPort('Delivr.ai', ports.delivrai, (port) => startDelivrAiSandbox({ ...options.delivrai, ...(port && { port }) }));
  const o365 = process.env.O365_CLIENT_ID
    ? undefined
    : await onPort('Office 365', ports.o365, (port) => startO365Sandbox({ ...options.o365, ...(port && { port }) }));
  const started = { salesforce, customerio, fathom, delivrai, o365 };
  await writeSandboxPorts(stateDir, {
    ...ports,
    ...Object.fromEntries(Object.entries(started).flatMap(([name, sandbox]) => (sandbox ? [[name, portOf(sandbox.url)]] : []))),
  });
  const stepFunctions = await startLocalStepFunctions({ ...options.stepFunctions, stateDir });

  const routes = JSON.parse(await readFile(join(ROOT, 'functions/api/routes.json'), 'utf8')).routes as RouteSpec[];
  const handlers = new Map<string, Promise<LambdaHandler>>();
  const loadHandler = (name: string) => {
    if (!handlers.has(name)) {
      const file = pathToFileURL(join(ROOT, 'functions/api', `${name}.ts`)).href;
      handlers.set(name, import(file).then((module: { handler: LambdaHandler }) => module.handler));
    }
    return handlers.get(name)!;
  };
  const gateway = createLocalGateway({ routes, loadHandler, verifyToken: await localTokenVerifier(stateDir) });
  const jwks = JSON.stringify(await localJwks(stateDir));
  const page = createConsole({ stateDir });
  let ready = false;
  const server: Server = createServer((req, res) => {
    if (req.url === '/health') {
      res.statusCode = ready ? 200 : 503;
      res.setHeader('content-type', 'application/json');
      return res.end(ready ? '{"status":"ok"}' : '{"status":"starting"}');
    }
    if (req.url === '/.well-known/jwks.json') {
      res.setHeader('content-type', 'application/json');
      return res.end(jwks);
    }
    page(req, res).then((answered) => (answered ? undefined : gateway(req, res))).catch(() => {
      if (!res.headersSent) res.statusCode = 500;
      res.end();
    });
  });
  // An oversize URL or headers: 431 in the API's error envelope, not node's empty answer.
  server.on('clientError', answerClientError);
  // Listen first: the OAuth callback URL the handlers register depends on the port.
  await new Promise<void>((listening, fail) => {
    server.once('error', fail);
    server.listen(options.port, '127.0.0.1', () => listening());
  });
  const address = server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : options.port}`;
  const pageUrl = `${url}/`;

  const eventsFile = join(stateDir, 'events.jsonl');
  Object.assign(process.env, {
    TABLE_NAME: tableName,
    DYNAMODB_ENDPOINT: endpoint,
    AWS_REGION: process.env.AWS_REGION ?? 'local',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    CONNECTOR_ENCRYPTION_KEY: process.env.CONNECTOR_ENCRYPTION_KEY || (await localEncryptionKey(stateDir)),
    POWERTOOLS_SERVICE_NAME: process.env.POWERTOOLS_SERVICE_NAME ?? 'connector',
    OAUTH_REDIRECT_BASE_URL: process.env.OAUTH_REDIRECT_BASE_URL || url,
    ...(options.oauthReturnsToPage && !process.env.APP_URL && { APP_URL: pageUrl }),
    STATE_MACHINE_ARN: stepFunctions.stateMachineArn,
    EVENTS_FILE: eventsFile,
    SFN_ENDPOINT: stepFunctions.endpoint,
    ...(customerio && { CUSTOMERIO_US_BASE_URL: customerio.url, CUSTOMERIO_EU_BASE_URL: customerio.url }),
    ...(fathom && { FATHOM_BASE_URL: fathom.url }),
    ...(delivrai && { DELIVRAI_BASE_URL: delivrai.url }),
    ...(o365 && {
      O365_LOGIN_URL: o365.url,
      O365_GRAPH_URL: o365.url,
      O365_CLIENT_ID: o365.clientId,
      O365_CLIENT_SECRET: o365.clientSecret,
    }),
    ...(salesforce && {
      SALESFORCE_LOGIN_URL: salesforce.url,
      SALESFORCE_CLIENT_ID: salesforce.clientId,
      SALESFORCE_CLIENT_SECRET: salesforce.clientSecret,
    }),
  });
  // Load every handler now: a broken or misconfigured one fails the start, not the first request.
  await Promise.all(routes.map((route) => loadHandler(route.handler)));
  // The table's stream feeds the domain events, as the event source mapping does in AWS.
  const events =
    options.events === false
      ? undefined
      : await startLocalEventStream({
          endpoint,
          tableName,
          stateDir,
          handler: await loadModuleHandler<StreamHandler>('functions/events/publishEvents.ts'),
          haltBeforePublish: options.events?.haltBeforePublish,
        });
  // Executions that were running when the stack last stopped carry on, as in AWS.
  await stepFunctions.resumeExecutions();
  const scheduler = await startLocalScheduler(options.scheduleEveryMs ?? 0);
  ready = true;

  return {
    url,
    pageUrl,
    stateDir,
    tableName,
    dynamoDbEndpoint: endpoint,
    salesforce,
    stepFunctions,
    customerio,
    fathom,
    delivrai,
    o365,
    events: {
      file: eventsFile,
      caughtUp: () => events?.caughtUp() ?? Promise.reject(new Error('this stack was started with events: false: no event is published')),
    },
    stop: async () => {
      scheduler.stop();
      server.closeAllConnections();
      await new Promise((done) => server.close(done));
      await stepFunctions.idle();
      await stepFunctions.stop();
      await salesforce?.close();
      await customerio?.close();
      await fathom?.close();
      await o365?.close();
      await delivrai?.close();
      await events?.stop();
      await dynamo?.stop();
    },
  };
}

/** EventBridge Scheduler's stand-in: runs the scheduled-sync handler on a timer. */
async function startLocalScheduler(everyMs: number): Promise<{ stop(): void }> {
  if (everyMs <= 0) return { stop: () => undefined };
  const handler = await loadModuleHandler<(event: unknown, context: unknown) => Promise<unknown>>('functions/sync/scheduledSync.ts');
  const timer = setInterval(() => {
    handler({}, { awsRequestId: crypto.randomUUID(), functionName: 'connector-local-scheduledSync' }).catch(() => undefined);
  }, everyMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

/** The `handler` export of one of the service's function modules. */
async function loadModuleHandler<T>(file: string): Promise<T> {
  return ((await import(pathToFileURL(join(ROOT, file)).href)) as { handler: T }).handler;
}

let claimedStateDir: string | undefined;

/**
 * Handlers build their clients once per process from the environment, as a Lambda
 * container does; a second stack with other state in the same process would silently
 * reach the first one's table. Refuse it instead.
 */
function claimProcess(stateDir: string): void {
  if (claimedStateDir && claimedStateDir !== stateDir) {
    throw new Error(`this process already runs a local stack on ${claimedStateDir}; start one stack per process`);
  }
  claimedStateDir = stateDir;
}

/** The local stand-in for the KMS key: a base64 32-byte key kept in the state directory. */
async function localEncryptionKey(stateDir: string): Promise<string> {
  const file = join(stateDir, 'encryption-key');
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const key = randomBytes(32).toString('base64');
  try {
    await writeFile(file, key, { flag: 'wx', mode: 0o600 });
    return key;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return (await readFile(file, 'utf8')).trim();
  }
}
