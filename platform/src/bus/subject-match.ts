/**
 * NATS subject matching: tokens separated by `.`, `*` matches exactly one
 * token, `>` (last token only) matches one or more remaining tokens.
 */
export function subjectMatches(pattern: string, subject: string): boolean {
  if (pattern === subject) return true;
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    const token = p[i];
    if (token === '>') return i === p.length - 1 && s.length > i;
    if (i >= s.length) return false;
    if (token !== '*' && token !== s[i]) return false;
  }
  return p.length === s.length;
}

/**
 * Whether a subject is valid to publish to (no wildcards, no empty tokens, no
 * whitespace). One pass over the characters, no allocation: it runs on every publish.
 */
export function isValidPublishSubject(subject: string): boolean {
  const n = subject.length;
  if (n === 0) return false;
  let tokenStart = 0;
  for (let i = 0; i <= n; i++) {
    const c = i < n ? subject.charCodeAt(i) : 46; // the end closes the last token like a '.'
    if (c === 46) {
      const len = i - tokenStart;
      if (len === 0) return false;
      if (len === 1) {
        const only = subject.charCodeAt(tokenStart);
        if (only === 42 || only === 62) return false; // a lone '*' or '>' is a wildcard
      }
      tokenStart = i + 1;
    } else if (c <= 32 || c === 0x85 || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff) {
      return false; // whitespace (\s) and control characters
    }
  }
  return true;
}

/** Whether a subject is valid to subscribe to (wildcards allowed; `>` only last). */
export function isValidSubscribeSubject(subject: string): boolean {
  if (subject.length === 0 || /\s/.test(subject)) return false;
  const tokens = subject.split('.');
  return tokens.every((t, i) => t.length > 0 && (t !== '>' || i === tokens.length - 1));
}
