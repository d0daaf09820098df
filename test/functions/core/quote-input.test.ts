import { describe, expect, it } from 'vitest';
import { escapeForMessage, quoteInput } from '../../../functions/core/quote-input';

describe('quoteInput', () => {
  it('quotes plain input as it is', () => {
    expect(quoteInput('salesforce')).toBe('"salesforce"');
  });

  it('escapes controls, bidi and other invisible format characters, and lone surrogates', () => {
    expect(quoteInput('a\u0000b\u001bc\u007fd\u202Ee\u2066f\u200Bg\uFEFFh\u2028i\uD800j')).toBe(
      '"a\\u{0000}b\\u{001B}c\\u{007F}d\\u{202E}e\\u{2066}f\\u{200B}g\\u{FEFF}h\\u{2028}i\\u{D800}j"',
    );
  });

  it('escapes quotes and backslashes, so the quote cannot be closed early', () => {
    expect(quoteInput('x" exists. Also "y\\')).toBe('"x\\" exists. Also \\"y\\\\"');
  });

  it('cuts after 64 code points with an ellipsis, never inside a surrogate pair', () => {
    expect(quoteInput('z'.repeat(64))).toBe(`"${'z'.repeat(64)}"`);
    expect(quoteInput('z'.repeat(65))).toBe(`"${'z'.repeat(64)}…"`);
    expect(quoteInput('😀'.repeat(70))).toBe(`"${'😀'.repeat(64)}…"`);
  });

  it('keeps letters of any script, emoji included', () => {
    expect(quoteInput('Ünïcødé 日本 😀')).toBe('"Ünïcødé 日本 😀"');
  });
});

describe('escapeForMessage', () => {
  it('escapes without quoting and cuts at the given length', () => {
    expect(escapeForMessage('ab\ncd', 10)).toBe('ab\\u{000A}cd');
    expect(escapeForMessage('abcdef', 3)).toBe('abc…');
  });
});
