/**
 * Fathom sandbox: a real HTTP server on 127.0.0.1 that speaks Fathom's external API
 * (`GET /external/v1/meetings`, `X-Api-Key`, 60 calls per 60 s; see /work/shared/PROVIDERS.md),
 * for the local stack and tests.
 *
 * @example
 * const sandbox = await startFathomSandbox({ ...fathomSandboxSizesFromEnv(process.env) });
 * const adapter = new FathomAdapter({ baseUrl: sandbox.url }); // key: sandbox.apiKey
 * sandbox.failures.throttle(1, 17);
 * await sandbox.close();
 */
import { positiveIntegerFromEnv } from '../shared/env';
import { defaultFathomDataSetSizes, type FathomDataSetSizes, MAX_INVITEES, MAX_MEETINGS } from './data';

export {
  startFathomSandbox,
  encodeCursor,
  MAX_PAGE_SIZE,
  type FathomSandbox,
  type FathomSandboxData,
  type FathomSandboxOptions,
  type FathomSandboxStats,
} from './sandbox';
export type { FathomFailureState, FathomSandboxFailures } from './failures';
export {
  defaultFathomDataSetSizes,
  FATHOM_DATA_SET_DAYS,
  FATHOM_DATA_SET_END,
  INTERNAL_DOMAIN,
  type FathomDataSetSizes,
  type AddedMeetingsOptions,
  type FathomInvitee,
  type FathomMeeting,
  type FathomRecorder,
} from './data';

/** The environment variables that size the local stack's Fathom data set. */
export const fathomSandboxSizeVariables = {
  meetings: 'SANDBOX_FATHOM_MEETINGS',
  invitees: 'SANDBOX_FATHOM_INVITEES',
} as const;

/**
 * Reads the data-set sizes from `SANDBOX_FATHOM_MEETINGS` and `SANDBOX_FATHOM_INVITEES`.
 * Unset or empty variables keep the defaults (40 / 120). Anything but a positive integer
 * within bounds throws an error that names the variable and the value.
 */
export function fathomSandboxSizesFromEnv(env: Readonly<Record<string, string | undefined>>): FathomDataSetSizes {
  const read = (key: keyof FathomDataSetSizes, max: number): number =>
    positiveIntegerFromEnv(env, fathomSandboxSizeVariables[key], defaultFathomDataSetSizes[key], max);
  return { meetings: read('meetings', MAX_MEETINGS), invitees: read('invitees', MAX_INVITEES) };
}
