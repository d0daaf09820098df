import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoConnectorRepository } from './dynamo-connector-repository';
import { DynamoCredentialRepository } from './dynamo-credential-repository';
import { DynamoEntityRepository } from './dynamo-entity-repository';
import { DynamoLifecycleRepository } from './dynamo-lifecycle-repository';
import { DynamoOAuthStateRepository } from './dynamo-oauth-state-repository';
import { DynamoPageLedger } from './dynamo-page-ledger';
import { DynamoScheduleRepository } from './dynamo-schedule-repository';
import { DynamoSyncRunRepository } from './dynamo-sync-run-repository';

/** Every repository of the service over one table: the services' ports, each one concern. */
export function createRepositories(client: DynamoDBDocumentClient, tableName: string) {
  return {
    connectors: new DynamoConnectorRepository(client, tableName),
    credentials: new DynamoCredentialRepository(client, tableName),
    oauthStates: new DynamoOAuthStateRepository(client, tableName),
    lifecycle: new DynamoLifecycleRepository(client, tableName),
    runs: new DynamoSyncRunRepository(client, tableName),
    entities: new DynamoEntityRepository(client, tableName),
    ledger: new DynamoPageLedger(client, tableName),
    schedule: new DynamoScheduleRepository(client, tableName),
  };
}

export type Repositories = ReturnType<typeof createRepositories>;
