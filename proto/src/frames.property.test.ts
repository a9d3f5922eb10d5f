import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hostileValue, mutatedFrameText, validOpArgs, withOwnKey } from '@chat/testkit/frame-fuzz';
import { ALL_OPS, type ImplementedOp, createOpSchemas, describeZodError, envelopeSchema } from './index.js';
import { DEFAULT_LIMITS } from './limits.js';

// Property tests of every op's request schema. A fixed seed keeps `npm test`
// reproducible; fast-check prints the seed and the shrunk counterexample on failure.
const seed = 17;
const schemas = createOpSchemas();
const valid = validOpArgs();
const ops = ALL_OPS as readonly ImplementedOp[];

/** Every object in a parsed value has Object.prototype (or Array.prototype) as its prototype: nothing a client sent became one. */
function prototypesIntact(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return true;
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== Array.prototype) return false;
  return Object.values(value).every(prototypesIntact);
}

describe('request schemas (property-based)', () => {
  it.each(ops)('%s accepts every request the protocol allows, and accepts its own output again unchanged', (op) => {
    fc.assert(
      fc.property(valid[op], (args) => {
        const parsed = schemas[op].safeParse({ id: 'r1', op, ...args });
        if (!parsed.success) throw new Error(`refused: ${describeZodError(parsed.error)}`);
        const again = schemas[op].safeParse(parsed.data);
        expect(again.success && again.data).toEqual(parsed.data);
      }),
      { seed, numRuns: 60 },
    );
  });

  it.each(ops)('%s never throws on mutated requests, and what it accepts is plain data with intact prototypes', (op) => {
    const base = fc.sample(valid[op], { seed, numRuns: 1 })[0]!;
    fc.assert(
      fc.property(mutatedFrameText({ id: 'r1', op, ...base }), (text) => {
        let frame: unknown;
        try {
          frame = JSON.parse(text);
        } catch {
          return; // not JSON: the handler never gets to a schema
        }
        const parsed = schemas[op].safeParse(frame);
        if (!parsed.success) {
          expect(describeZodError(parsed.error)).toMatch(/\S/);
          return;
        }
        expect(prototypesIntact(parsed.data)).toBe(true);
        expect(JSON.parse(JSON.stringify(parsed.data))).toEqual(parsed.data);
      }),
      { seed, numRuns: 40 },
    );
  });

  it('never throws on any JSON value or hostile value, for the envelope and every op', () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), hostileValue()), fc.constantFrom(...ops), (value, op) => {
        envelopeSchema.safeParse(value);
        const parsed = schemas[op].safeParse(value);
        if (parsed.success) expect(prototypesIntact(parsed.data)).toBe(true);
      }),
      { seed, numRuns: 300 },
    );
  });

  it('cannot be poisoned through a client-keyed map: sync marks keyed __proto__, constructor, toString', () => {
    fc.assert(
      fc.property(fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty'), fc.constantFrom('since', 'changesSince'), fc.integer({ min: 0, max: 100 }), (key, field, n) => {
        // Through JSON, as a frame arrives: `__proto__` is then an own key of the parsed object.
        const frame = JSON.parse(JSON.stringify({ id: 'r', op: 'sync', [field]: withOwnKey({ g_a: 1 }, key, n) })) as unknown;
        const parsed = schemas.sync.safeParse(frame);
        expect(parsed.success).toBe(true);
        if (!parsed.success) return;
        const marks = parsed.data[field as 'since']!;
        expect(prototypesIntact(parsed.data)).toBe(true);
        expect(marks.g_a).toBe(1);
        // zod drops a `__proto__` key (it would set the prototype); any other name stays an own, plain mark.
        // No conversation id is one of these names (they are d_… and g_…), so neither loses a real mark.
        if (key === '__proto__') expect(Object.hasOwn(marks, key)).toBe(false);
        else expect(Object.getOwnPropertyDescriptor(marks, key)?.value).toBe(n);
      }),
      { seed, numRuns: 20 },
    );
  });

  it('refuses a lone surrogate anywhere in stored text (body, stream text, title, clientMsgId, file name), and keeps paired ones', () => {
    const surrogate = fc.constantFrom('\ud800', '\udbff', '\udc00', '\udfff');
    const fields: [ImplementedOp, Record<string, unknown>, (v: string) => Record<string, unknown>][] = [
      ['message.send', { conversationId: 'g_a', clientMsgId: 'c' }, (body) => ({ body })],
      ['message.send', { conversationId: 'g_a', body: 'b' }, (clientMsgId) => ({ clientMsgId })],
      ['message.send', { conversationId: 'g_a', clientMsgId: 'c', body: '' }, (name) => ({ attachments: [{ name, mediaType: 'image/png', size: 1, url: 'https://a.example/x.png' }] })],
      ['message.edit', { conversationId: 'g_a', seq: 1 }, (body) => ({ body })],
      ['message.stream', { conversationId: 'g_a', seq: 1, offset: 0 }, (text) => ({ text })],
      ['conversation.create_group', { members: [] }, (title) => ({ title })],
      ['conversation.rename', { conversationId: 'g_a' }, (title) => ({ title })],
    ];
    fc.assert(
      fc.property(fc.constantFrom(...fields), fc.string({ maxLength: 10 }), surrogate, fc.string({ maxLength: 10 }), ([op, args, put], before, lone, after) => {
        // Through JSON, as it arrives: the lone surrogate travels escaped (\ud800), so it reaches the schema.
        const bad = JSON.parse(JSON.stringify({ ...args, ...put(`x${before}${lone}${after}`) })) as unknown;
        const good = JSON.parse(JSON.stringify({ ...args, ...put(`x${before}😀${after}`) })) as unknown;
        const refused = schemas[op].safeParse(bad);
        expect(refused.success).toBe(false);
        if (!refused.success) expect(describeZodError(refused.error)).toMatch(/well-formed/);
        expect(schemas[op].safeParse(good).success).toBe(true);
      }),
      { seed, numRuns: 100 },
    );
  });

  it('holds every length limit exactly, in UTF-16 code units: at the limit accepted, one unit past refused, emoji counting two', () => {
    // `n` code units of `c` (one or two units each), topped up with 'x'.
    const units = (n: number, c: string) => c.repeat(Math.floor(n / c.length)) + 'x'.repeat(n % c.length);
    const cases: [ImplementedOp | 'envelope', Record<string, unknown>, string, number][] = [
      ['message.send', { conversationId: 'g_a', clientMsgId: 'c' }, 'body', DEFAULT_LIMITS.maxBodyChars],
      ['message.edit', { conversationId: 'g_a', seq: 1 }, 'body', DEFAULT_LIMITS.maxBodyChars],
      ['message.stream', { conversationId: 'g_a', seq: 1, offset: 0 }, 'text', DEFAULT_LIMITS.maxBodyChars],
      ['conversation.rename', { conversationId: 'g_a' }, 'title', DEFAULT_LIMITS.maxTitleChars],
      ['message.react', { conversationId: 'g_a', seq: 1, add: true }, 'emoji', DEFAULT_LIMITS.maxEmojiChars],
      ['message.send', { conversationId: 'g_a', body: 'x' }, 'clientMsgId', 64],
      ['user.search', {}, 'prefix', 64],
      ['conversation.list', {}, 'before', 512],
      ['envelope', { op: 'ping' }, 'id', 64],
    ];
    for (const [op, args, field, limit] of cases) {
      const schema = op === 'envelope' ? envelopeSchema : schemas[op];
      for (const c of ['é', '😀']) {
        expect(schema.safeParse({ ...args, [field]: units(limit, c) }).success, `${op}.${field}: ${limit} units of ${c}`).toBe(true);
        expect(schema.safeParse({ ...args, [field]: units(limit + 1, c) }).success, `${op}.${field}: ${limit + 1} units of ${c}`).toBe(false);
      }
    }
    const conversationId = (n: number) => 'a'.repeat(n);
    expect(schemas['conversation.get'].safeParse({ conversationId: conversationId(128) }).success).toBe(true);
    expect(schemas['conversation.get'].safeParse({ conversationId: conversationId(129) }).success).toBe(false);
  });
});
