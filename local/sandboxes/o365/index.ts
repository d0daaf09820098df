/**
 * Office 365 sandbox: a real HTTP server on 127.0.0.1 that speaks the Microsoft identity
 * platform's v2.0 OAuth endpoints and Graph's contacts delta query (see
 * /work/shared/PROVIDERS.md), for the local stack and tests.
 *
 * @example
 * const sandbox = await startO365Sandbox({ contacts: 150 });
 * // authorize at `${sandbox.url}/common/oauth2/v2.0/authorize`, read at `${sandbox.url}/v1.0/me/contacts/delta`
 * sandbox.failures.expireDeltaLinks();
 * await sandbox.close();
 */
export {
  startO365Sandbox,
  type O365Sandbox,
  type O365SandboxData,
  type O365SandboxOptions,
  type O365SandboxStats,
} from './sandbox';
export type { FailureTarget, O365FailureState, O365SandboxFailures } from './failures';
import { DEFAULT_CONTACTS } from './contacts';

export {
  type ContactChanges,
  type FolderSpec,
  type GraphContact,
  type GraphContactFolder,
  type GraphEmailAddress,
  DEFAULT_CONTACTS,
  DEFAULT_FOLDERS,
  DEFAULT_SEED,
  DATA_SET_END,
} from './contacts';
export { ACCESS_TOKEN_LIFETIME_S, AUTH_CODE_TTL_MS, SANDBOX_TENANT_ID } from './identity';
export { DEFAULT_PAGE_SIZE, KEPT_GENERATIONS, MAX_PAGE_SIZE } from './graph';
export { obtainO365Tokens, O365_SCOPES, type O365TokenAnswer } from './client';
export { newPkcePair, pkceChallenge } from '../shared/oauth';

/** The environment variable that sizes the local stack's Office 365 mailbox. */
export const o365SandboxContactsVariable = 'SANDBOX_O365_CONTACTS';

/** Upper bound: the mailbox lives in memory. */
const MAX_CONTACTS = 1_000_000;

/**
 * Reads the mailbox size from `SANDBOX_O365_CONTACTS`. Unset or empty keeps the default
 * (150). Anything but a non-negative integer (at most 1,000,000) throws an error that
 * names the variable and the value.
 */
export function o365SandboxContactsFromEnv(env: Readonly<Record<string, string | undefined>>): number {
  const raw = env[o365SandboxContactsVariable];
  if (raw === undefined || raw.trim() === '') return DEFAULT_CONTACTS;
  const text = raw.trim();
  if (!/^(0|[1-9][0-9]*)$/.test(text) || Number(text) > MAX_CONTACTS) {
    throw new Error(`${o365SandboxContactsVariable} must be a non-negative integer of at most ${MAX_CONTACTS}, got '${raw}'`);
  }
  return Number(text);
}
