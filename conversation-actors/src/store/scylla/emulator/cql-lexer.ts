import { syntaxError, unsupported } from './cql-errors.js';

/** The kinds of token of the CQL subset. */
export type TokenKind = 'word' | 'quoted' | 'string' | 'integer' | 'float' | 'hex' | 'bind' | 'punct' | 'eof';

/**
 * One token. `text` is what the source says (for messages); `value` is:
 * for a `word`, the text lowercased (an identifier or a keyword, CQL is
 * case-insensitive); for a `quoted` identifier ("Name"), the exact name; for
 * a `string`, the content with '' unescaped; for numbers, the digits as
 * written; for `hex`, the digits after 0x; for `punct`, the symbol.
 */
export interface Token {
  kind: TokenKind;
  text: string;
  value: string;
  position: number;
}

const PUNCT_2 = new Set(['<=', '>=', '!=']);
const PUNCT_1 = new Set(['(', ')', ',', '.', ';', '=', '<', '>', '{', '}', ':', '*', '[', ']', '+']);
const WORD_START = /[A-Za-z]/;
const WORD_PART = /[A-Za-z0-9_]/;
const DIGIT = /[0-9]/;
const HEX = /^[0-9a-fA-F]*$/;

/**
 * Splits CQL text into tokens, ending with one `eof` token. Skips whitespace
 * and comments (`--` and `//` to the end of the line, `/* *\/`). Throws the
 * driver's ResponseError (syntaxError) for an unterminated string, quoted
 * name or comment, an unknown character, and named bind markers (`:name`) or
 * `$$` strings, which the emulator does not model.
 */
export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const push = (kind: TokenKind, start: number, value: string): void => {
    tokens.push({ kind, text: text.slice(start, i), value, position: start });
  };
  while (i < text.length) {
    const c = text[i] as string;
    const next = text[i + 1] ?? '';
    const start = i;
    if (/\s/.test(c)) {
      i++;
    } else if ((c === '-' && next === '-') || (c === '/' && next === '/')) {
      const end = text.indexOf('\n', i);
      i = end === -1 ? text.length : end + 1;
    } else if (c === '/' && next === '*') {
      const end = text.indexOf('*/', i + 2);
      if (end === -1) throw syntaxError('unterminated /* comment', start);
      i = end + 2;
    } else if (c === "'") {
      i = closing(text, i, "'");
      push('string', start, text.slice(start + 1, i - 1).replace(/''/g, "'"));
    } else if (c === '"') {
      i = closing(text, i, '"');
      push('quoted', start, text.slice(start + 1, i - 1).replace(/""/g, '"'));
    } else if (c === '$' && next === '$') {
      throw unsupported('$$-quoted strings');
    } else if (c === '?') {
      i++;
      push('bind', start, '?');
    } else if (c === ':' && WORD_START.test(next)) {
      throw unsupported(`named bind marker at position ${start}`);
    } else if (c === '0' && (next === 'x' || next === 'X')) {
      i += 2;
      while (i < text.length && WORD_PART.test(text[i] as string)) i++;
      const digits = text.slice(start + 2, i);
      if (!HEX.test(digits) || digits.length % 2 !== 0) throw syntaxError(`invalid blob constant ${text.slice(start, i)}`, start);
      push('hex', start, digits.toLowerCase());
    } else if (DIGIT.test(c) || (c === '-' && DIGIT.test(next))) {
      i = number(text, i);
      const written = text.slice(start, i);
      push(/[.eE]/.test(written) ? 'float' : 'integer', start, written);
    } else if (WORD_START.test(c)) {
      while (i < text.length && WORD_PART.test(text[i] as string)) i++;
      push('word', start, text.slice(start, i).toLowerCase());
    } else if (PUNCT_2.has(c + next)) {
      i += 2;
      push('punct', start, c + next);
    } else if (PUNCT_1.has(c)) {
      i++;
      push('punct', start, c);
    } else {
      throw syntaxError(`token recognition error at: '${c}'`, start);
    }
  }
  tokens.push({ kind: 'eof', text: '', value: '', position: text.length });
  return tokens;
}

/** The index after the quote closing the one at `open` (a doubled quote is an escape). */
function closing(text: string, open: number, quote: string): number {
  for (let i = open + 1; i < text.length; i++) {
    if (text[i] !== quote) continue;
    if (text[i + 1] === quote) i++;
    else return i + 1;
  }
  throw syntaxError(`unterminated ${quote === "'" ? 'string' : 'quoted identifier'}`, open);
}

/** The index after a number starting at `start`: -?digits(.digits)?(e[+-]?digits)?. */
function number(text: string, start: number): number {
  let i = start;
  if (text[i] === '-') i++;
  while (DIGIT.test(text[i] ?? '')) i++;
  if (text[i] === '.' && DIGIT.test(text[i + 1] ?? '')) {
    i++;
    while (DIGIT.test(text[i] ?? '')) i++;
  }
  if ((text[i] === 'e' || text[i] === 'E') && /[-+0-9]/.test(text[i + 1] ?? '')) {
    i += 2;
    while (DIGIT.test(text[i] ?? '')) i++;
  }
  return i;
}
