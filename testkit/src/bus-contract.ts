import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Bus, type BusMessage, type Codec, type SubscribeOptions, type Subscription, decodeBody, encoded } from '@chat/platform';
import { BusClosedError, BusNoRespondersError, BusTimeoutError } from '@chat/platform';

/**
 * The behaviour every Bus implementation must show, as a vitest suite. Run it
 * from an implementation's test file with a factory that gives a fresh,
 * connected bus and a cleanup that releases whatever the factory started.
 * It uses only the Bus interface and the guarantees documented on it.
 */
export function runBusContract(name: string, create: () => Promise<{ bus: Bus; cleanup(): Promise<void> }>): void {
  describe(`Bus contract: ${name}`, () => {
    let bus: Bus;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      ({ bus, cleanup } = await create());
    });

    afterEach(async () => {
      await cleanup();
    });

    it('delivers data and headers intact to a subscriber', async () => {
      const subject = uniqueSubject();
      const inbox = collect(bus, subject);
      const data = new Uint8Array([0, 1, 2, 127, 128, 254, 255]);
      const headers = { 'x-trace': '00-abc-def-01', 'content-type': 'application/x-protobuf' };
      bus.publish(subject, data, headers);
      bus.publish(subject, encode('second'));
      const [first, second] = await inbox.waitFor(2);
      expect(first!.subject).toBe(subject);
      expect(Array.from(first!.data)).toEqual(Array.from(data));
      expect({ ...first!.headers }).toEqual(headers);
      expect(decode(second!.data)).toBe('second');
      expect(Object.keys(second!.headers ?? {})).toEqual([]);
    });

    it('carries an object body (Encoded) to subscribers and back as a reply: decodeBody gives it, data gives its bytes', async () => {
      const subject = uniqueSubject();
      const inbox = collect(bus, subject);
      const value = { text: 'héllo', n: 42 };
      bus.publish(subject, encoded(jsonCodec, value));
      const [msg] = await inbox.waitFor(1);
      expect(decodeBody(msg!, jsonCodec)).toEqual(value);
      expect(JSON.parse(decode(msg!.data))).toEqual(value);
      // Another codec never gets the object: it decodes the bytes.
      const other: Codec<string> = { encode: (s) => ({ finish: () => encode(s) }), decode };
      expect(decodeBody(msg!, other)).toBe(JSON.stringify(value));

      const service = uniqueSubject();
      bus.subscribe(service, (req) => req.respond(encoded(jsonCodec, { echo: decodeBody(req, jsonCodec) })));
      const reply = await bus.request(service, encoded(jsonCodec, { ask: 1 }), { timeoutMs: 5000 });
      expect(decodeBody(reply, jsonCodec)).toEqual({ echo: { ask: 1 } });
    });

    it('delivers one publish to every plain subscriber of the subject', async () => {
      const subject = uniqueSubject();
      const a = collect(bus, subject);
      const b = collect(bus, subject);
      bus.publish(subject, encode('both'));
      expect((await a.waitFor(1)).map((m) => decode(m.data))).toEqual(['both']);
      expect((await b.waitFor(1)).map((m) => decode(m.data))).toEqual(['both']);
    });

    it('matches `*` to exactly one token and `>` to one or more trailing tokens', async () => {
      const base = uniqueSubject();
      const star = collect(bus, `${base}.*`);
      const midStar = collect(bus, `${base}.*.b`);
      const tail = collect(bus, `${base}.>`);
      const exact = collect(bus, base);
      for (const s of [`${base}.a`, `${base}.a.b`, base, `${base}.a.c`, `z.${base}.a`, `${base}.end`]) bus.publish(s, encode(s));
      await tail.waitFor(4);
      await settle(bus);
      expect(tail.subjects()).toEqual([`${base}.a`, `${base}.a.b`, `${base}.a.c`, `${base}.end`]);
      expect(star.subjects()).toEqual([`${base}.a`, `${base}.end`]);
      expect(midStar.subjects()).toEqual([`${base}.a.b`]);
      expect(exact.subjects()).toEqual([base]);
    });

    it('stops delivery after unsubscribe, for literal and wildcard subscriptions', async () => {
      const subject = uniqueSubject();
      const literal = collect(bus, subject);
      const wildcard = collect(bus, `${subject.split('.').slice(0, -1).join('.')}.*`);
      const sentinel = collect(bus, subject);
      bus.publish(subject, encode('before'));
      await literal.waitFor(1);
      await wildcard.waitFor(1);
      literal.sub.unsubscribe();
      wildcard.sub.unsubscribe();
      bus.publish(subject, encode('after'));
      await sentinel.waitFor(2);
      await settle(bus);
      expect(literal.messages.map((m) => decode(m.data))).toEqual(['before']);
      expect(wildcard.messages.map((m) => decode(m.data))).toEqual(['before']);
    });

    it('drops messages already queued for a subscription when it unsubscribes', async () => {
      const subject = uniqueSubject();
      const seen: string[] = [];
      const sub = bus.subscribe(subject, (msg) => {
        seen.push(decode(msg.data));
        sub.unsubscribe();
      });
      const sentinel = collect(bus, subject);
      for (let i = 0; i < 10; i++) bus.publish(subject, encode(String(i)));
      await sentinel.waitFor(10);
      await settle(bus);
      expect(seen).toEqual(['0']);
    });

    it('says its message limit: a body of exactly maxPayload() bytes goes through, one byte more is refused at publish and never delivered', async () => {
      const limit = bus.maxPayload();
      expect(limit).toBeGreaterThan(0);
      // Unlimited (in process): nothing to refuse. Beyond 16 MiB the test would only measure memory.
      if (limit === Number.POSITIVE_INFINITY || limit > 16 * 1024 * 1024) return;
      const subject = uniqueSubject();
      const inbox = collect(bus, subject);
      expect(() => bus.publish(subject, new Uint8Array(limit + 1))).toThrow(RangeError);
      bus.publish(subject, new Uint8Array(limit).fill(7));
      bus.publish(subject, encode('after'));
      const [big, after] = await inbox.waitFor(2);
      expect(big!.data.length).toBe(limit);
      expect(decode(after!.data)).toBe('after');
      await settle(bus);
      expect(inbox.messages).toHaveLength(2);
    });

    it('keeps one publisher’s order for each subscriber over thousands of messages', async () => {
      const subject = uniqueSubject();
      const count = 3000;
      const literal = collect(bus, subject);
      const wildcard = collect(bus, `${subject.split('.').slice(0, -1).join('.')}.>`);
      for (let i = 0; i < count; i++) bus.publish(subject, encode(String(i)));
      const expected = Array.from({ length: count }, (_, i) => String(i));
      expect((await literal.waitFor(count)).map((m) => decode(m.data))).toEqual(expected);
      expect((await wildcard.waitFor(count)).map((m) => decode(m.data))).toEqual(expected);
    });

    it('gives each queue-group message to exactly one member, and every member some', async () => {
      const subject = uniqueSubject();
      const count = 300;
      const members = [0, 1, 2].map(() => collect(bus, subject, { queue: 'workers' }));
      const otherGroup = [0, 1].map(() => collect(bus, subject, { queue: 'auditors' }));
      const plain = collect(bus, subject);
      for (let i = 0; i < count; i++) bus.publish(subject, encode(String(i)));
      await plain.waitFor(count);
      await waitUntil(() => total(members) >= count && total(otherGroup) >= count, 'queue groups to receive every message');
      await settle(bus);
      const expected = Array.from({ length: count }, (_, i) => String(i)).sort();
      const got = members.flatMap((m) => m.messages.map((msg) => decode(msg.data))).sort();
      expect(got).toEqual(expected);
      expect(otherGroup.flatMap((m) => m.messages.map((msg) => decode(msg.data))).sort()).toEqual(expected);
      for (const m of members) expect(m.messages.length).toBeGreaterThan(0);
      for (const m of otherGroup) expect(m.messages.length).toBeGreaterThan(0);
    });

    it('round-trips a request and its reply with headers', async () => {
      const subject = uniqueSubject();
      const respondResults: boolean[] = [];
      bus.subscribe(subject, (msg) => {
        const reply = new TextEncoder().encode(`${decode(msg.data)}!`);
        respondResults.push(msg.respond(reply, { 'x-echo': msg.headers?.['x-trace'] ?? 'missing' }));
      });
      const reply = await bus.request(subject, encode('hello'), { timeoutMs: 5000, headers: { 'x-trace': 't-1' } });
      expect(decode(reply.data)).toBe('hello!');
      expect(reply.headers?.['x-echo']).toBe('t-1');
      expect(respondResults).toEqual([true]);
    });

    it('answers each request to a queue group once', async () => {
      const subject = uniqueSubject();
      for (const id of ['a', 'b', 'c']) {
        bus.subscribe(subject, (msg) => msg.respond(encode(`${id}:${decode(msg.data)}`)), { queue: 'responders' });
      }
      const replies = await Promise.all(
        Array.from({ length: 30 }, (_, i) => bus.request(subject, encode(String(i)), { timeoutMs: 5000 })),
      );
      expect(replies.map((r) => decode(r.data).split(':')[1])).toEqual(Array.from({ length: 30 }, (_, i) => String(i)));
    });

    it('rejects a request nobody answers with BusTimeoutError', async () => {
      const subject = uniqueSubject();
      const silent = collect(bus, subject);
      const err = await bus.request(subject, encode('anyone?'), { timeoutMs: 50 }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(BusTimeoutError);
      expect((err as BusTimeoutError).code).toBe('unavailable');
      await silent.waitFor(1);
    });

    it('rejects a request with no subscribers with BusNoRespondersError', async () => {
      const subject = uniqueSubject();
      const err = await bus.request(subject, encode('void'), { timeoutMs: 5000 }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(BusNoRespondersError);
      expect((err as BusNoRespondersError).code).toBe('unavailable');
    });

    it('returns false from respond() on a message that was not a request', async () => {
      const subject = uniqueSubject();
      const inbox = collect(bus, subject);
      bus.publish(subject, encode('plain'));
      const [msg] = await inbox.waitFor(1);
      expect(msg!.respond(encode('nobody asked'))).toBe(false);
    });

    it('never runs a handler inside publish() or request()', async () => {
      const subject = uniqueSubject();
      let running = false;
      let ranInside = false;
      const inbox = collect(bus, subject);
      bus.subscribe(subject, (msg) => {
        if (running) ranInside = true;
        msg.respond(encode('ok'));
      });
      running = true;
      bus.publish(subject, encode('1'));
      const pending = bus.request(subject, encode('2'), { timeoutMs: 5000 });
      running = false;
      expect(inbox.messages).toHaveLength(0);
      await pending;
      await inbox.waitFor(2);
      expect(ranInside).toBe(false);
    });

    it('resolves flush(), with and without traffic', async () => {
      await expect(bus.flush()).resolves.toBeUndefined();
      const subject = uniqueSubject();
      const inbox = collect(bus, subject);
      for (let i = 0; i < 100; i++) bus.publish(subject, encode(String(i)));
      await expect(bus.flush()).resolves.toBeUndefined();
      await inbox.waitFor(100);
    });

    it('lets queued deliveries finish on close(), then is not ready and rejects requests', async () => {
      const subject = uniqueSubject();
      const inbox = collect(bus, subject);
      expect(bus.isReady()).toBe(true);
      for (let i = 0; i < 5; i++) bus.publish(subject, encode(String(i)));
      await bus.close();
      expect(inbox.messages.map((m) => decode(m.data))).toEqual(['0', '1', '2', '3', '4']);
      expect(bus.isReady()).toBe(false);
      await expect(bus.request(subject, encode('late'), { timeoutMs: 1000 })).rejects.toBeInstanceOf(BusClosedError);
    });
  });
}

/** A subject no other test (or concurrent run) uses. */
export function uniqueSubject(): string {
  return `t.${randomUUID().slice(0, 8)}.x`;
}

function encode(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

function decode(data: Uint8Array): string {
  return new TextDecoder().decode(data);
}

/** How long a helper waits for something the bus should deliver promptly before failing the test with a clear message. */
const DELIVERY_GUARD_MS = 10_000;

interface Collector {
  readonly sub: Subscription;
  readonly messages: BusMessage[];
  subjects(): string[];
  /** Resolves with the messages once at least `n` have arrived. */
  waitFor(n: number): Promise<BusMessage[]>;
}

function collect(bus: Bus, subject: string, options?: SubscribeOptions): Collector {
  const messages: BusMessage[] = [];
  const waiters: { n: number; resolve(): void }[] = [];
  const sub = bus.subscribe(
    subject,
    (msg) => {
      messages.push(msg);
      for (let i = waiters.length - 1; i >= 0; i--) {
        const w = waiters[i]!;
        if (messages.length >= w.n) {
          waiters.splice(i, 1);
          w.resolve();
        }
      }
    },
    options,
  );
  return {
    sub,
    messages,
    subjects: () => messages.map((m) => m.subject),
    waitFor: (n) =>
      messages.length >= n
        ? Promise.resolve(messages)
        : guard(
            new Promise<BusMessage[]>((resolve) => waiters.push({ n, resolve: () => resolve(messages) })),
            () => `expected ${n} messages on ${subject}, got ${messages.length}`,
          ),
  };
}

function total(collectors: Collector[]): number {
  return collectors.reduce((sum, c) => sum + c.messages.length, 0);
}

/** Polls `condition` on each macrotask until it holds. */
async function waitUntil(condition: () => boolean, what: string): Promise<void> {
  await guard(
    (async () => {
      while (!condition()) await new Promise((r) => setImmediate(r));
    })(),
    () => `timed out waiting for ${what}`,
  );
}

/**
 * Waits until everything published so far has had its chance to arrive: a
 * marker published now comes back through the bus after it.
 */
async function settle(bus: Bus): Promise<void> {
  await bus.flush();
  const marker = collect(bus, uniqueSubject());
  bus.publish(marker.sub.subject, encode('marker'));
  await marker.waitFor(1);
  marker.sub.unsubscribe();
  await bus.flush();
}

function guard<T>(promise: Promise<T>, failure: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(failure())), DELIVERY_GUARD_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A codec for the contract's object bodies: JSON in UTF-8. */
const jsonCodec: Codec<unknown> = {
  encode: (value) => ({ finish: () => encode(JSON.stringify(value)) }),
  decode: (input) => JSON.parse(decode(input)) as unknown,
};
