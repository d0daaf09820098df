import { randomUUID } from 'node:crypto';
import { AwsServiceError as SecretsManagerError, startAwsJsonService } from '../../../support/fake-aws-json-service';

/**
 * A tiny AWS Secrets Manager on 127.0.0.1 speaking the real wire protocol (AWS JSON 1.1:
 * POST with `X-Amz-Target: secretsmanager.<Operation>`, errors as a 400 with `__type`), so a
 * real `SecretsManagerClient` talks to it unchanged. Only GetSecretValue, for secrets the
 * test puts; `rotate` changes a secret's value as rotation would (a new version).
 */
export interface FakeSecretsManager {
  /** `http://127.0.0.1:<port>`, for `new SecretsManagerClient({ endpoint })` or AWS_ENDPOINT_URL_SECRETS_MANAGER. */
  readonly endpoint: string;
  readonly region: string;
  /** Stores a secret (a string, or `undefined` for one with no SecretString) and answers its ARN. */
  put(name: string, value: string | undefined): string;
  /** Gives the secret a new value, as a rotation's new AWSCURRENT version. */
  rotate(arn: string, value: string): void;
  /** The SecretId of every GetSecretValue request, in order. */
  readonly requests: readonly string[];
  close(): Promise<void>;
}

const REGION = 'eu-west-1';
const ACCOUNT = '111122223333';

export async function startFakeSecretsManager(): Promise<FakeSecretsManager> {
  const secrets = new Map<string, { name: string; value: string | undefined; versionId: string }>();
  const requests: string[] = [];

  const getSecretValue = (body: Record<string, unknown>) => {
    const id = String(body.SecretId ?? '');
    requests.push(id);
    const secret = secrets.get(id) ?? [...secrets.entries()].find(([, s]) => s.name === id)?.[1];
    if (!secret) throw new SecretsManagerError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
    const arn = [...secrets.entries()].find(([, s]) => s === secret)![0];
    return {
      ARN: arn,
      Name: secret.name,
      VersionId: secret.versionId,
      ...(secret.value !== undefined && { SecretString: secret.value }),
      VersionStages: ['AWSCURRENT'],
      CreatedDate: Date.now() / 1000,
    };
  };

  const service = await startAwsJsonService({ operations: { 'secretsmanager.GetSecretValue': getSecretValue } });

  return {
    endpoint: service.endpoint,
    region: REGION,
    requests,
    put(name, value) {
      const arn = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${name}-${randomUUID().slice(0, 6)}`;
      secrets.set(arn, { name, value, versionId: randomUUID() });
      return arn;
    },
    rotate(arn, value) {
      const secret = secrets.get(arn);
      if (!secret) throw new Error(`no secret ${arn}`);
      secrets.set(arn, { ...secret, value, versionId: randomUUID() });
    },
    close: () => service.close(),
  };
}
