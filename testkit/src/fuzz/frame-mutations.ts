import fc from 'fast-check';
import { DEFAULT_LIMITS, type ProtocolLimits } from '@chat/proto';

/**
 * Hostile values and mutations of real request frames, for property tests of
 * the frame handler and the live fuzz run. Everything is a fast-check
 * arbitrary, so a failure shrinks to a small frame and is replayed from its
 * seed (`fc.sample(arb, { seed, numRuns })` for a fixed corpus).
 */

/** Strings that have broken parsers, maps and logs before: keys of every object, NATS wildcards, invisible and lone code units. */
export const NASTY_STRINGS: readonly string[] = [
  '',
  ' ',
  '\u0000',
  '\n\r\t',
  '\ud800', // lone high surrogate
  '\udfff', // lone low surrogate
  '\ud83d\ude00\ud83d', // an emoji then half of one
  '\u202e', // right-to-left override
  '\ufeff', // byte order mark
  '\u200d', // zero-width joiner alone
  'e\u0301', // combining accent
  '\uffff',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'valueOf',
  'a.b.>',
  '*',
  '>',
  '../../etc/passwd',
  '%s%n',
  '<script>',
  'null',
  '1e309',
];

/** Numbers around every bound the protocol has, and the ones JSON turns strange (1e400 parses to Infinity). */
export const NASTY_NUMBERS: readonly number[] = [
  0, -0, -1, 1, 1.5, 0.1, 2 ** 31, 2 ** 32, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 2, -Number.MAX_SAFE_INTEGER, 1e21, 1e308, -1e308, 5e-324,
];

/** Strings right at and just past each length limit the protocol has. */
function limitStrings(limits: ProtocolLimits): fc.Arbitrary<string> {
  const lengths = [63, 64, 65, 127, 128, 129, 255, 256, 512, 513, 2048, 2049, limits.maxTitleChars, limits.maxTitleChars + 1, limits.maxBodyChars, limits.maxBodyChars + 1, limits.maxEmojiChars + 1];
  return fc.tuple(fc.constantFrom(...lengths), fc.constantFrom('x', 'é', '😀', '\u200d', 'a-')).map(([n, c]) => c.repeat(Math.ceil(n / c.length)).slice(0, n));
}

/** An object whose own key is `key`, even `__proto__` (a literal or assignment would set the prototype instead). */
export function withOwnKey(target: Record<string, unknown>, key: string, value: unknown): Record<string, unknown> {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  return target;
}

/** Arrays or objects nested `depth` deep. */
function nested(depth: number, kind: 'array' | 'object'): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = kind === 'array' ? [v] : { a: v };
  return v;
}

/** Any value a frame field could be sent as, biased to the edges: wrong types, bounds, unicode, poison keys, deep nesting, long arrays. */
export function hostileValue(limits: ProtocolLimits = DEFAULT_LIMITS): fc.Arbitrary<unknown> {
  return fc.oneof(
    fc.jsonValue({ maxDepth: 2 }),
    fc.constantFrom(...NASTY_STRINGS),
    fc.constantFrom(...NASTY_NUMBERS),
    limitStrings(limits),
    fc.constantFrom(null, true, false, [], {}),
    fc.string({ unit: 'binary', maxLength: 20 }),
    fc.constantFrom(...NASTY_STRINGS).map((k) => withOwnKey({}, k, { polluted: true })),
    fc.constantFrom(...NASTY_STRINGS).map((k) => withOwnKey({}, k, 1)),
    fc.integer({ min: 1, max: 1000 }).chain((d) => fc.constantFrom('array', 'object').map((k) => nested(d, k as 'array' | 'object'))),
    fc.constantFrom(limits.maxGroupMembers + 1, 201, limits.maxAttachments + 1).map((n) => Array.from({ length: n }, (_, i) => `u${i}`)),
  );
}

type Path = (string | number)[];

/** Every field path in a frame, down to `depth`. */
function pathsOf(value: unknown, depth = 3, prefix: Path = []): Path[] {
  if (depth === 0 || typeof value !== 'object' || value === null) return [];
  const out: Path[] = [];
  for (const key of Object.keys(value)) {
    const p = [...prefix, Array.isArray(value) ? Number(key) : key];
    out.push(p, ...pathsOf((value as Record<string, unknown>)[key], depth - 1, p));
  }
  return out;
}

function clone<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

/** Sets (or, with `remove`, deletes) the field at `path`; own keys only, so `__proto__` stays a field. */
function setAt(root: Record<string, unknown>, path: Path, value: unknown, remove = false): void {
  let target = root as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) target = target[key] as Record<string | number, unknown>;
  const last = path.at(-1)!;
  if (remove) {
    if (Array.isArray(target)) target.splice(last as number, 1);
    else delete target[last];
  } else withOwnKey(target as Record<string, unknown>, String(last), value);
}

/** A structural change of a frame object: a field deleted, retyped, added, or the whole frame wrapped. */
function structuralMutation(base: Record<string, unknown>, limits: ProtocolLimits): fc.Arbitrary<unknown> {
  const paths = pathsOf(base);
  const path = fc.constantFrom(...(paths.length ? paths : [['id']]));
  const key = fc.oneof(fc.constantFrom(...Object.keys(base), 'id', 'op', ...NASTY_STRINGS), fc.string({ maxLength: 10 }));
  return fc.oneof(
    path.map((p) => {
      const f = clone(base);
      setAt(f, p, undefined, true);
      return f;
    }),
    fc.tuple(path, hostileValue(limits)).map(([p, v]) => {
      const f = clone(base);
      setAt(f, p, v);
      return f;
    }),
    fc.tuple(key, hostileValue(limits)).map(([k, v]) => withOwnKey(clone(base), k, v)),
    fc.constantFrom<unknown>([base], { frame: base }, JSON.stringify(base), null, 42),
  );
}

/** Characters a "flip" puts in place of another: the text stays a string (valid UTF-8 on the wire). */
const FLIP_CHARS = ['"', '\\', '{', '}', '[', ']', ':', ',', '0', '-', 'e', 'é', '😀', '\u0000', '\ud800', ' ', 'n', 't'];

/** A change of the frame's text: truncation, flipped characters, duplicated keys, a poison key spliced in. */
function textMutation(text: string): fc.Arbitrary<string> {
  const at = fc.integer({ min: 0, max: Math.max(0, text.length - 1) });
  return fc.oneof(
    at.map((i) => text.slice(0, i)),
    fc.array(fc.tuple(at, fc.constantFrom(...FLIP_CHARS)), { minLength: 1, maxLength: 3 }).map((flips) => {
      const chars = [...text];
      for (const [i, c] of flips) chars[Math.min(i, chars.length - 1)] = c;
      return chars.join('');
    }),
    // Duplicated keys: JSON.parse keeps the last one, and so must everything that reads the frame.
    fc.tuple(fc.constantFrom('id', 'op', '__proto__', 'constructor'), fc.constantFrom('"dup"', '1', 'null', '{"id":"x","op":"ping"}', '[]')).map(
      ([k, v]) => text.replace(/^\{/, `{"${k}":${v},`),
    ),
    fc.constantFrom('id', 'op', '__proto__').map((k) => text.replace(/\}$/, `,"${k}":${k === '__proto__' ? '{"id":"p","op":"ping","isAdmin":true}' : '"late"'}}`)),
  );
}

const DEEP = '"\u0000deep\u0000"';

/**
 * A field (any key, or a new one) set to arrays or objects nested 9,000 to
 * 20,000 deep, spliced in as text: deep enough that JSON.stringify, which
 * recurses, overflows the stack on the parsed value (JSON.parse does not), yet
 * under the frame size limit.
 */
function deepNesting(base: Record<string, unknown>): fc.Arbitrary<string> {
  const key = fc.constantFrom(...Object.keys(base), 'extra');
  return fc.tuple(key, fc.integer({ min: 9000, max: 20_000 }), fc.boolean()).map(([k, depth, arrays]) => {
    const text = JSON.stringify({ ...base, [k]: '\u0000deep\u0000' });
    return text.replace(DEEP, arrays ? `${'['.repeat(depth)}${']'.repeat(depth)}` : `${'{"a":'.repeat(Math.floor(depth / 2))}1${'}'.repeat(Math.floor(depth / 2))}`);
  });
}

/**
 * One mutation (or a few) of a real, valid frame, as the text to send. Texts
 * over `limits.maxFrameBytes` are left out: those close the socket with 1009
 * by design, which is tested on its own.
 */
export function mutatedFrameText(base: Record<string, unknown>, limits: ProtocolLimits = DEFAULT_LIMITS): fc.Arbitrary<string> {
  const structural = structuralMutation(base, limits).map((v) => JSON.stringify(v) ?? 'undefined');
  return fc
    .oneof(
      { weight: 3, arbitrary: structural },
      { weight: 2, arbitrary: textMutation(JSON.stringify(base)) },
      { weight: 1, arbitrary: structural.chain((t) => textMutation(t)) },
      { weight: 1, arbitrary: deepNesting(base) },
    )
    .map(wireText)
    .filter((t) => Buffer.byteLength(t) <= limits.maxFrameBytes);
}

/**
 * A text as the server reads it off the wire: UTF-8 encoding turns a lone
 * surrogate into U+FFFD, so expectations must be computed on this, not on the
 * string before it was sent.
 */
export function wireText(text: string): string {
  return Buffer.from(text, 'utf8').toString('utf8');
}

/**
 * A fixed corpus of `count` frame texts for a live fuzz run: frame i is a
 * mutation of `bases[i % bases.length]` with id `f<i>` (every tenth one is
 * left valid, so the ops' success paths run under the load too), drawn from
 * `seed + i`, so a failing frame is reproduced from its index alone.
 */
export function fuzzCorpus(bases: readonly Record<string, unknown>[], count: number, seed: number, limits: ProtocolLimits = DEFAULT_LIMITS): string[] {
  return Array.from({ length: count }, (_, i) => {
    const base = { ...bases[i % bases.length]!, id: `f${i}` };
    if (i % 10 === 0) return JSON.stringify(base);
    return fc.sample(mutatedFrameText(base, limits), { seed: seed + i, numRuns: 1 })[0]!;
  });
}

/** What the protocol promises for a frame's text: a reply to its id, a reply with `re: null`, or none. */
export type ExpectedReply = { kind: 'id'; id: string } | { kind: 'null' } | { kind: 'none' };

/**
 * The reply a frame must get (docs/protocol.md, "Frames"): a JSON object with
 * a valid `id` (a string of 1 to 64 characters) is answered exactly once, to
 * that id; an object with any other `id` is answered once with `re: null`;
 * anything else (not JSON, not an object, no `id`) is never answered.
 * `text` is what the server received (see wireText).
 */
export function expectedReply(text: string): ExpectedReply {
  let frame: unknown;
  try {
    frame = JSON.parse(text);
  } catch {
    return { kind: 'none' };
  }
  if (typeof frame !== 'object' || frame === null || Array.isArray(frame) || !Object.hasOwn(frame, 'id')) return { kind: 'none' };
  const id = (frame as { id: unknown }).id;
  return typeof id === 'string' && id.length >= 1 && id.length <= 64 ? { kind: 'id', id } : { kind: 'null' };
}
