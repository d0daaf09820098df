/**
 * Quoting what a caller sent inside an error message. Input comes back in messages so the
 * caller can see what was wrong with it, but raw it could be megabytes long, or carry
 * characters that change how the message reads where it is shown: control characters
 * (NUL, escape sequences for a terminal), bidi overrides that reorder the text around
 * them (U+202E), invisible format characters and lone surrogates.
 */

/** How many characters of a caller's value a message quotes before cutting it. */
export const QUOTED_INPUT_MAX_CHARS = 64;

/**
 * Controls (Cc), format characters (Cf: bidi marks and overrides, zero-width characters,
 * BOM), line and paragraph separators, and lone surrogates: shown as `\u{...}` escapes.
 */
const UNSAFE_CHARACTER = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/gu;

/**
 * Replaces characters that would hide or reorder text with visible `\u{XXXX}` escapes, and
 * cuts the text after `maxChars` code points, marking the cut with an ellipsis.
 */
export function escapeForMessage(text: string, maxChars: number): string {
  const codePoints = Array.from(text);
  const kept = codePoints.length > maxChars ? `${codePoints.slice(0, maxChars).join('')}…` : text;
  return kept.replace(UNSAFE_CHARACTER, (character) => `\\u{${character.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}}`);
}

/**
 * A caller's value, safe to put in an error message: in double quotes, at most
 * {@link QUOTED_INPUT_MAX_CHARS} characters (then `…`), with `"` and `\` escaped so the
 * quote cannot be closed early, and unsafe characters shown as `\u{...}`.
 *
 * @example quoteInput('sales\u202Eforce') === '"sales\\u{202E}force"'
 */
export function quoteInput(value: string, maxChars = QUOTED_INPUT_MAX_CHARS): string {
  const codePoints = Array.from(value);
  const cut = codePoints.length > maxChars;
  const kept = cut ? codePoints.slice(0, maxChars).join('') : value;
  const escaped = escapeForMessage(kept.replace(/["\\]/g, (character) => `\\${character}`), Number.MAX_SAFE_INTEGER);
  return `"${escaped}${cut ? '…' : ''}"`;
}
