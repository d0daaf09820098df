import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetParameterError } from '@aws-lambda-powertools/parameters';
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { ConfigurationError } from './errors';
import { traceAwsClient } from './tracing';

/** How long a container keeps a secret it read before reading it again, unless SECRETS_MAX_AGE_SECONDS says otherwise. */
export const DEFAULT_SECRETS_MAX_AGE_SECONDS = 5 * 60;

let defaultSecretsProvider: SecretsProvider | undefined;

/**
 * The process's Secrets Manager reader (Powertools Parameters, over a traced SDK client),
 * built on first use: a runtime that holds its secrets directly never makes one.
 */
function secretsProvider(): SecretsProvider {
  defaultSecretsProvider ??= new SecretsProvider({ awsSdkV3Client: traceAwsClient(new SecretsManagerClient({})) });
  return defaultSecretsProvider;
}

/**
 * A secret the runtime needs, such as an OAuth client secret: `NAME` holds it directly
 * (local stack), or `NAME_ARN` names a Secrets Manager secret (AWS). An ARN'd secret is
 * read through Powertools Parameters on first use and kept for `SECRETS_MAX_AGE_SECONDS`
 * (5 minutes by default; 0 reads it on every use), then read again: a rotated client
 * secret reaches running containers within that time, without a cold start. Calls that
 * arrive while a read is under way share it. Never in the template, never in a log or an
 * error message.
 *
 * @param options.provider the Secrets Manager reader; by default one per process.
 * @throws ConfigurationError (at once) when SECRETS_MAX_AGE_SECONDS is not a whole number of seconds.
 * @returns a function answering the secret. It rejects with a ConfigurationError when
 * neither variable is set or the secret is empty (or not text), and with Secrets Manager's
 * own error (AccessDeniedException, ResourceNotFoundException, ...) when reading it failed.
 */
export function secretFromEnv(env: NodeJS.ProcessEnv, name: string, options: { provider?: SecretsProvider } = {}): () => Promise<string> {
  const direct = env[name];
  if (direct) return async () => direct;
  const arn = env[`${name}_ARN`];
  if (!arn) return () => Promise.reject(new ConfigurationError(`${name} (or ${name}_ARN) is not set.`));
  const maxAge = secretsMaxAgeSeconds(env);
  let reading: Promise<string> | undefined;
  const read = async (): Promise<string> => {
    let value: unknown;
    try {
      value = await (options.provider ?? secretsProvider()).get(arn, { maxAge });
    } catch (error) {
      // Parameters wraps the SDK's error; its name (AccessDeniedException, ...) says more than GetParameterError.
      throw error instanceof GetParameterError && error.cause !== undefined ? error.cause : error;
    }
    if (typeof value !== 'string' || value === '') throw new ConfigurationError(`The secret named by ${name}_ARN is empty or not text.`);
    return value;
  };
  return () => {
    reading ??= read().finally(() => {
      reading = undefined;
    });
    return reading;
  };
}

/** SECRETS_MAX_AGE_SECONDS, or the default when it is unset. */
function secretsMaxAgeSeconds(env: NodeJS.ProcessEnv): number {
  const configured = env.SECRETS_MAX_AGE_SECONDS?.trim();
  if (!configured) return DEFAULT_SECRETS_MAX_AGE_SECONDS;
  const seconds = Number(configured);
  if (!Number.isInteger(seconds) || seconds < 0) {
    throw new ConfigurationError(`SECRETS_MAX_AGE_SECONDS is "${configured.slice(0, 32)}"; it must be a whole number of seconds (0 or more).`);
  }
  return seconds;
}
