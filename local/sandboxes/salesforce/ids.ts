/**
 * Salesforce-like record ids: 15 case-sensitive characters (3-character key prefix, then
 * an instance part and a serial number in base 62) plus the 3-character suffix that makes
 * the 18-character case-insensitive form. The suffix follows Salesforce's public rule:
 * each 5-character chunk of the 15-character id yields a 5-bit number whose bit i says
 * whether character i is an upper-case letter; that number indexes "A..Z0..5".
 */

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const SUFFIX_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345';

/** Key prefixes of the objects and internal records the sandbox names. */
export const keyPrefix = {
  Account: '001',
  Contact: '003',
  Lead: '00Q',
  Opportunity: '006',
  Organization: '00D',
  User: '005',
  QueryLocator: '01g',
  /** Bulk API 2.0 jobs (AsyncApiJob). */
  QueryJob: '750',
} as const;

/** The sandbox's made-up instance part of every id (real ids carry a pod/instance code here). */
export const DEFAULT_INSTANCE = 'Dn';

/**
 * The instance part of the ids of the sandbox's `index`-th additional org (1, 2, ...): two
 * base-62 characters from `E0` on, never the first org's `Dn`. Real ids of two orgs cannot
 * collide (each pod hands out its own serials); distinct instance parts give the sandbox's
 * orgs the same property even when their seeds and serials happen to agree.
 */
export function orgInstance(index: number): string {
  if (!Number.isSafeInteger(index) || index < 1 || index > 62 * 48) throw new RangeError(`org index ${index} out of range`);
  const n = 14 * 62 + index; // 'E0' + index
  return (BASE62[Math.floor(n / 62)] as string) + (BASE62[n % 62] as string);
}

/** Builds the 18-character id of serial number `serial` with key prefix `prefix` (and the org's instance part). */
export function salesforceId(prefix: string, serial: number, instance: string = DEFAULT_INSTANCE): string {
  if (!/^[0-9A-Za-z]{2}$/.test(instance)) throw new RangeError(`id instance part must be 2 base-62 characters, got ${instance}`);
  if (!Number.isSafeInteger(serial) || serial < 0 || serial >= 62 ** 9) {
    throw new RangeError(`id serial ${serial} does not fit in 9 base-62 digits`);
  }
  const digits = new Array<string>(9);
  let rest = serial;
  for (let i = 8; i >= 0; i--) {
    digits[i] = BASE62[rest % 62] as string;
    rest = Math.floor(rest / 62);
  }
  const id15 = prefix + instance + '0' + digits.join('');
  return id15 + checksumSuffix(id15);
}

/** The 3-character suffix that turns a 15-character id into its 18-character form. */
export function checksumSuffix(id15: string): string {
  let suffix = '';
  for (let chunk = 0; chunk < 3; chunk++) {
    let bits = 0;
    for (let i = 0; i < 5; i++) {
      const c = id15.charCodeAt(chunk * 5 + i);
      if (c >= 65 && c <= 90) bits |= 1 << i;
    }
    suffix += SUFFIX_ALPHABET[bits];
  }
  return suffix;
}
