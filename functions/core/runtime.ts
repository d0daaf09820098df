import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { requiredEnv } from './config';
import { DynamoConnectorRepository } from './repository/dynamo-connector-repository';
import { ConnectorService } from './services/connector-service';

/**
 * The runtime's clients and services, built once per Lambda container (or local process)
 * from its environment, at first use.
 */
export interface Runtime {
  readonly connectorService: ConnectorService;
}

let current: Runtime | undefined;

/** The process's runtime; created on first call. */
export function runtime(): Runtime {
  current ??= createRuntime(process.env);
  return current;
}

/** Builds a runtime from an environment: TABLE_NAME, and DYNAMODB_ENDPOINT locally. */
export function createRuntime(env: NodeJS.ProcessEnv): Runtime {
  const tableName = requiredEnv(env, 'TABLE_NAME', 'it names the DynamoDB table');
  const documentClient = DynamoDBDocumentClient.from(
    new DynamoDBClient(env.DYNAMODB_ENDPOINT ? { endpoint: env.DYNAMODB_ENDPOINT } : {}),
    { marshallOptions: { removeUndefinedValues: true } },
  );
  const repository = new DynamoConnectorRepository(documentClient, tableName);
  return { connectorService: new ConnectorService(repository) };
}
