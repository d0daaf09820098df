/** Reading sandbox settings from environment variables, for the local stack. */

/**
 * The positive integer in `env[name]` (at most `max`), or `fallback` when the variable is
 * unset or blank. Anything else throws an error that names the variable and the value.
 */
export function positiveIntegerFromEnv(env: Readonly<Record<string, string | undefined>>, name: string, fallback: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const text = raw.trim();
  if (!/^[1-9][0-9]*$/.test(text) || Number(text) > max) {
    throw new Error(`${name} must be a positive integer of at most ${max}, got '${raw}'`);
  }
  return Number(text);
}
