/**
 * Customer.io sandbox: a real HTTP server on 127.0.0.1 that speaks the App API's people
 * endpoints (see /work/shared/PROVIDERS.md), for the local stack and tests. One server
 * stands in for both regions.
 *
 * @example
 * const sandbox = await startCustomerIoSandbox({ ...customerIoSandboxOptionsFromEnv(process.env) });
 * // POST `${sandbox.url}/v1/customers?limit=100` with `Authorization: Bearer ${sandbox.apiKey}`
 * sandbox.failures.throttle(2, 3);
 * await sandbox.close();
 */
export {
  startCustomerIoSandbox,
  type CustomerIoSandbox,
  type CustomerIoSandboxData,
  type CustomerIoSandboxOptions,
  type CustomerIoSandboxStats,
} from './sandbox';
export type { CustomerIoFailureState, CustomerIoSandboxFailures } from './failures';
export { DATA_SET_END_SECONDS } from './data';

/** The environment variables the local stack may set for this sandbox. */
export const customerIoSandboxVariables = {
  people: 'SANDBOX_CUSTOMERIO_PEOPLE',
  apiKey: 'SANDBOX_CUSTOMERIO_API_KEY',
} as const;

/** Upper bound on people: the data set lives in memory. */
const MAX_PEOPLE = 5_000_000;

/**
 * Reads `SANDBOX_CUSTOMERIO_PEOPLE` (a positive integer, at most 5,000,000; default 500)
 * and `SANDBOX_CUSTOMERIO_API_KEY` (default `sandbox-key`). Unset or empty variables keep
 * the defaults; anything else wrong throws an error naming the variable.
 */
export function customerIoSandboxOptionsFromEnv(env: Readonly<Record<string, string | undefined>>): { people?: number; apiKey?: string } {
  const options: { people?: number; apiKey?: string } = {};
  const people = env[customerIoSandboxVariables.people]?.trim();
  if (people) {
    if (!/^[1-9][0-9]*$/.test(people) || Number(people) > MAX_PEOPLE) {
      throw new Error(`${customerIoSandboxVariables.people} must be a positive integer of at most ${MAX_PEOPLE}, got '${people}'`);
    }
    options.people = Number(people);
  }
  const apiKey = env[customerIoSandboxVariables.apiKey]?.trim();
  if (apiKey) options.apiKey = apiKey;
  return options;
}
