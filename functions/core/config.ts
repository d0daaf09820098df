import { ConfigurationError } from './errors';

/** How the API reads identity from the JWT the gateway verified; claim names differ per identity provider. */
export interface AuthConfig {
  readonly tenantClaim: string;
  readonly roleClaim: string;
  readonly adminRole: string;
}

/** Reads the claim names from the environment, with the defaults the local stack uses. */
export function authConfig(env: NodeJS.ProcessEnv = process.env): AuthConfig {
  return {
    tenantClaim: env.TENANT_CLAIM || 'tenant_id',
    roleClaim: env.ROLE_CLAIM || 'role',
    adminRole: env.ADMIN_ROLE || 'admin',
  };
}

/** A variable the runtime cannot do without; a clear refusal beats a confusing failure later. */
export function requiredEnv(env: NodeJS.ProcessEnv, name: string, purpose: string): string {
  const value = env[name];
  if (!value) throw new ConfigurationError(`${name} is not set: ${purpose}.`);
  return value;
}

/**
 * A whole number from the environment, at least `min`; undefined when unset, so the
 * consumer's default applies.
 * @throws ConfigurationError naming the variable when it is not such a number.
 */
export function wholeNumberEnv(env: NodeJS.ProcessEnv, name: string, min = 1): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new ConfigurationError(`${name} must be a whole number of at least ${min}; it is "${raw}".`);
  return value;
}
