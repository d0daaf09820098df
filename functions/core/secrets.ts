import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ConfigurationError } from './errors';

/**
 * A secret the runtime needs, such as an OAuth client secret: `NAME` holds it directly
 * (local stack), or `NAME_ARN` names a Secrets Manager secret (AWS), fetched on first use
 * and kept for the life of the container. Never in the template, never in a log.
 */
export function secretFromEnv(env: NodeJS.ProcessEnv, name: string): () => Promise<string> {
  const direct = env[name];
  if (direct) return async () => direct;
  const arn = env[`${name}_ARN`];
  let cached: Promise<string> | undefined;
  return () => {
    if (!arn) return Promise.reject(new ConfigurationError(`${name} (or ${name}_ARN) is not set.`));
    cached ??= new SecretsManagerClient({})
      .send(new GetSecretValueCommand({ SecretId: arn }))
      .then((answer) => {
        if (!answer.SecretString) throw new ConfigurationError(`The secret named by ${name}_ARN is empty.`);
        return answer.SecretString;
      })
      .catch((error: unknown) => {
        cached = undefined;
        throw error;
      });
    return cached;
  };
}
