import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { apiBudgetPolicyFromEnv } from './api-budget';
import { requiredEnv, wholeNumberEnv } from './config';
import { createEnvelopeCipher } from './crypto';
import type { ProviderId } from './registry';
import { createRepositories, type Repositories } from './repository';
import { ConfigurationError } from './errors';
import { emfMetrics, type MetricsRecorder } from './metrics';
import { StepFunctionsSyncExecutions, type SyncExecutions } from './sync-executions';
import { SyncEngine } from './services/sync-engine';
import { CANCEL_REASONS, SyncService } from './services/sync-service';
import { secretFromEnv } from './secrets';
import { traceAwsClient } from './tracing';
import { ConnectorService } from './services/connector-service';
import { CredentialService } from './services/credential-service';
import { ApiKeyService } from './services/api-key-service';
import { OAuthService } from './services/oauth-service';
import { CUSTOMERIO_BASE_URLS, CustomerIoAdapter } from '../providers/customerio/customerio-adapter';
import { DelivrAiAdapter } from '../providers/delivrai/delivrai-adapter';
import { FathomAdapter } from '../providers/fathom/fathom-adapter';
import { O365Adapter } from '../providers/o365/o365-adapter';
import { SalesforceAdapter } from '../providers/salesforce/salesforce-adapter';
import type { ApiKeyAdapter, OAuthAdapter, SyncAdapter } from '../providers/types';

/**
 * The runtime's clients and services, built once per Lambda container (or local process)
 * from its environment. Building it refuses a runtime without CONNECTOR_ENCRYPTION_KEY or
 * TABLE_NAME, so a misconfigured function fails at start, not on a user's request.
 */
export interface Runtime {
  readonly connectorService: ConnectorService;
  readonly credentialService: CredentialService;
  readonly oauthService: OAuthService;
  readonly syncEngine: SyncEngine;
  readonly syncService: SyncService;
  readonly apiKeyService: ApiKeyService;
  /** Where handlers and services record metrics (CloudWatch EMF on stdout). */
  readonly metrics: MetricsRecorder;
  /** The app page the OAuth callback sends the user back to, if one is configured. */
  readonly appUrl: string | undefined;
}

let current: Runtime | undefined;
let wrapRepositories: (repositories: Repositories) => Repositories = (repositories) => repositories;

/**
 * Wraps the repositories of the runtimes this process builds from now on. Only tests call it,
 * to inject faults through the steps' dependencies (a Lambda dying half way through a page)
 * while the local stack runs the real handlers; nothing in the service does.
 */
export function wrapRepositoriesForTests(wrap: (repositories: Repositories) => Repositories): void {
  wrapRepositories = wrap;
  current = undefined;
}

/** The process's runtime; created on first call. */
export function runtime(): Runtime {
  current ??= createRuntime(process.env);
  return current;
}

/** Builds a runtime from an environment (see README for the variables). */
export function createRuntime(env: NodeJS.ProcessEnv): Runtime {
  const tableName = requiredEnv(env, 'TABLE_NAME', 'it names the DynamoDB table');
  const cipher = createEnvelopeCipher(env);
  // Traced before the document client is derived from it: the two share one middleware stack.
  const documentClient = DynamoDBDocumentClient.from(
    traceAwsClient(new DynamoDBClient(env.DYNAMODB_ENDPOINT ? { endpoint: env.DYNAMODB_ENDPOINT } : {})),
    { marshallOptions: { removeUndefinedValues: true } },
  );
  const adapters = providerAdaptersFromEnv(env);
  const oauthAdapter = (providerId: ProviderId) => adapters.oauth.get(providerId);
  const apiKeyAdapter = (providerId: ProviderId) => adapters.apiKey.get(providerId);
  const syncAdapter = (providerId: ProviderId) => adapters.sync.get(providerId);
  const stores = wrapRepositories(createRepositories(documentClient, tableName));
  const metrics = emfMetrics(env);
  const credentialService = new CredentialService({ repository: stores.credentials, lifecycle: stores.lifecycle, cipher, oauthAdapter, metrics });
  const syncEngine = new SyncEngine({ ...stores, credentials: credentialService, syncAdapter });
  const syncService = new SyncService({
    ...stores,
    executions: syncExecutionsFromEnv(env),
    engine: syncEngine,
    syncAdapter,
    metrics,
    pagesPerExecution: env.SYNC_PAGES_PER_EXECUTION ? Number(env.SYNC_PAGES_PER_EXECUTION) : undefined,
  });
  const redirectBase = env.OAUTH_REDIRECT_BASE_URL ?? '';
  return {
    apiKeyService: new ApiKeyService({
      lifecycle: stores.lifecycle,
      syncs: syncService,
      reconnectReason: CANCEL_REASONS.reconnected,
      credentialService,
      apiKeyAdapter,
    }),
    syncEngine,
    syncService,
    metrics,
    connectorService: new ConnectorService({
      repository: stores.connectors,
      lifecycle: stores.lifecycle,
      revoker: credentialService,
      syncs: syncService,
      disconnectReason: CANCEL_REASONS.disconnected,
      apiBudgetPolicy: (providerId) => adapters.sync.get(providerId)?.apiAllowance?.policy,
    }),
    credentialService,
    oauthService: new OAuthService({
      lifecycle: stores.lifecycle,
      syncs: syncService,
      reconnectReason: CANCEL_REASONS.reconnected,
      states: stores.oauthStates,
      credentialService,
      oauthAdapter,
      redirectUri: (providerId) => `${redirectBase.replace(/\/$/, '')}/oauth/${providerId}/callback`,
    }),
    appUrl: env.APP_URL || undefined,
  };
}

/** The provider adapters this environment is configured for; others cannot be connected or synced here. */
function providerAdaptersFromEnv(env: NodeJS.ProcessEnv) {
  const oauth = new Map<ProviderId, OAuthAdapter>();
  const sync = new Map<ProviderId, SyncAdapter>();
  const apiKey = new Map<ProviderId, ApiKeyAdapter>();
  if (env.SALESFORCE_CLIENT_ID) {
    const salesforce = new SalesforceAdapter({
      loginUrl: env.SALESFORCE_LOGIN_URL || 'https://login.salesforce.com',
      clientId: env.SALESFORCE_CLIENT_ID,
      clientSecret: secretFromEnv(env, 'SALESFORCE_CLIENT_SECRET'),
      pageSize: env.SALESFORCE_PAGE_SIZE ? Number(env.SALESFORCE_PAGE_SIZE) : undefined,
      bulk: {
        threshold: wholeNumberEnv(env, 'SALESFORCE_BULK_THRESHOLD', 0),
        pageSize: wholeNumberEnv(env, 'SALESFORCE_BULK_PAGE_SIZE'),
        jobMaxWaitSeconds: wholeNumberEnv(env, 'SALESFORCE_BULK_JOB_MAX_WAIT_SECONDS', 0),
      },
      apiBudget: apiBudgetPolicyFromEnv(env),
    });
    oauth.set('salesforce', salesforce);
    sync.set('salesforce', salesforce);
  }
  if (env.O365_CLIENT_ID) {
    const o365 = new O365Adapter({
      loginUrl: env.O365_LOGIN_URL || undefined,
      graphUrl: env.O365_GRAPH_URL || undefined,
      tenant: env.O365_TENANT || undefined,
      clientId: env.O365_CLIENT_ID,
      clientSecret: secretFromEnv(env, 'O365_CLIENT_SECRET'),
    });
    oauth.set('o365', o365);
    sync.set('o365', o365);
  }
  // API-key providers need no app credentials: always available; base URLs point them at sandboxes locally.
  const customerio = new CustomerIoAdapter(
    env.CUSTOMERIO_US_BASE_URL || env.CUSTOMERIO_EU_BASE_URL
      ? { baseUrls: { us: env.CUSTOMERIO_US_BASE_URL || CUSTOMERIO_BASE_URLS.us, eu: env.CUSTOMERIO_EU_BASE_URL || CUSTOMERIO_BASE_URLS.eu } }
      : {},
  );
  const fathom = new FathomAdapter(env.FATHOM_BASE_URL ? { baseUrl: env.FATHOM_BASE_URL } : {});
  const delivrai = new DelivrAiAdapter(env.DELIVRAI_BASE_URL ? { baseUrl: env.DELIVRAI_BASE_URL } : {});
  for (const adapter of [customerio, fathom, delivrai]) {
    sync.set(adapter.providerId, adapter);
    apiKey.set(adapter.providerId, adapter);
  }
  return { oauth, sync, apiKey };
}

/** Step Functions, when STATE_MACHINE_ARN names the sync state machine (SFN_ENDPOINT: the local runner). */
function syncExecutionsFromEnv(env: NodeJS.ProcessEnv): SyncExecutions {
  const stateMachineArn = env.STATE_MACHINE_ARN;
  if (!stateMachineArn) {
    const unavailable = () => Promise.reject(new ConfigurationError('STATE_MACHINE_ARN is not set: syncs cannot be started or stopped.'));
    return { start: unavailable, stop: unavailable };
  }
  return new StepFunctionsSyncExecutions(traceAwsClient(new SFNClient(env.SFN_ENDPOINT ? { endpoint: env.SFN_ENDPOINT } : {})), stateMachineArn);
}
