import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { requiredEnv } from './config';
import { createEnvelopeCipher } from './crypto';
import type { ProviderId } from './registry';
import { DynamoConnectorRepository } from './repository/dynamo-connector-repository';
import { DynamoCredentialRepository } from './repository/dynamo-credential-repository';
import { DynamoOAuthStateRepository } from './repository/dynamo-oauth-state-repository';
import { secretFromEnv } from './secrets';
import { ConnectorService } from './services/connector-service';
import { CredentialService } from './services/credential-service';
import { OAuthService } from './services/oauth-service';
import { SalesforceAdapter } from '../providers/salesforce/salesforce-adapter';
import type { OAuthAdapter } from '../providers/types';

/**
 * The runtime's clients and services, built once per Lambda container (or local process)
 * from its environment. Building it refuses a runtime without CONNECTOR_ENCRYPTION_KEY or
 * TABLE_NAME, so a misconfigured function fails at start, not on a user's request.
 */
export interface Runtime {
  readonly connectorService: ConnectorService;
  readonly credentialService: CredentialService;
  readonly oauthService: OAuthService;
  /** The app page the OAuth callback sends the user back to, if one is configured. */
  readonly appUrl: string | undefined;
}

let current: Runtime | undefined;

/** The process's runtime; created on first call. */
export function runtime(): Runtime {
  current ??= createRuntime(process.env);
  return current;
}

/** Builds a runtime from an environment (see README for the variables). */
export function createRuntime(env: NodeJS.ProcessEnv): Runtime {
  const tableName = requiredEnv(env, 'TABLE_NAME', 'it names the DynamoDB table');
  const cipher = createEnvelopeCipher(env);
  const documentClient = DynamoDBDocumentClient.from(
    new DynamoDBClient(env.DYNAMODB_ENDPOINT ? { endpoint: env.DYNAMODB_ENDPOINT } : {}),
    { marshallOptions: { removeUndefinedValues: true } },
  );
  const oauthAdapters = oauthAdaptersFromEnv(env);
  const oauthAdapter = (providerId: ProviderId) => oauthAdapters.get(providerId);
  const credentials = new DynamoCredentialRepository(documentClient, tableName);
  const credentialService = new CredentialService({ repository: credentials, cipher, oauthAdapter });
  const redirectBase = env.OAUTH_REDIRECT_BASE_URL ?? '';
  return {
    connectorService: new ConnectorService(new DynamoConnectorRepository(documentClient, tableName), credentialService),
    credentialService,
    oauthService: new OAuthService({
      credentials,
      states: new DynamoOAuthStateRepository(documentClient, tableName),
      credentialService,
      oauthAdapter,
      redirectUri: (providerId) => `${redirectBase.replace(/\/$/, '')}/oauth/${providerId}/callback`,
    }),
    appUrl: env.APP_URL || undefined,
  };
}

/** The OAuth providers this environment has app credentials for; others cannot be connected here. */
function oauthAdaptersFromEnv(env: NodeJS.ProcessEnv): Map<ProviderId, OAuthAdapter> {
  const adapters = new Map<ProviderId, OAuthAdapter>();
  if (env.SALESFORCE_CLIENT_ID) {
    adapters.set(
      'salesforce',
      new SalesforceAdapter({
        loginUrl: env.SALESFORCE_LOGIN_URL || 'https://login.salesforce.com',
        clientId: env.SALESFORCE_CLIENT_ID,
        clientSecret: secretFromEnv(env, 'SALESFORCE_CLIENT_SECRET'),
      }),
    );
  }
  return adapters;
}
