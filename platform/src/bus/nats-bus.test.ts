import { createServer } from 'node:net';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runBusContract, uniqueSubject } from '@chat/testkit/bus-contract';
import type { BusMessage } from './bus.js';
import { connectNatsBus, type NatsBus } from './nats-bus.js';
import { BusClosedError, type PlatformError } from '../errors.js';
import { type Logger, silentLogger } from '../logger.js';
import { capturingLogger } from '@chat/testkit/capturing-logger';
import { type NatsServerProcess, startNatsServer } from '@chat/testkit/servers';

const encode = (text: string): Uint8Array => new TextEncoder().encode(text);
const decode = (data: Uint8Array): string => new TextDecoder().decode(data);

/** Generous: these waits end as soon as the condition holds; the limit only turns a hang into a clear failure. */
const WAIT_LIMIT_MS = 30_000;

let server: NatsServerProcess;

beforeAll(async () => {
  server = await startNatsServer();
});

afterAll(async () => {
  await server?.stop();
});

runBusContract('NatsBus', async () => {
  const bus = await connectNatsBus({ servers: server.url, name: 'contract', logger: silentLogger() });
  return { bus, cleanup: () => bus.close() };
});


async function waitUntil(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_LIMIT_MS;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function inbox(bus: NatsBus, subject: string, queue?: string): { messages: BusMessage[]; unsubscribe(): void } {
  const messages: BusMessage[] = [];
  const sub = bus.subscribe(subject, (msg) => messages.push(msg), queue === undefined ? {} : { queue });
  return { messages, unsubscribe: () => sub.unsubscribe() };
}

function errorOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => null,
    (err: unknown) => err,
  );
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      s.close(() => resolve(port));
    });
  });
}

describe('NatsBus', () => {
  const buses: NatsBus[] = [];
  async function open(name: string, logger: Logger = silentLogger(), url = server.url, registry?: Registry): Promise<NatsBus> {
    const bus = await connectNatsBus({ servers: url, name, logger, registry });
    buses.push(bus);
    return bus;
  }

  afterEach(async () => {
    for (const bus of buses.splice(0)) await bus.close();
  });

  it('carries publish/subscribe between two connections', async () => {
    const a = await open('a');
    const b = await open('b');
    const subject = uniqueSubject();
    const got = inbox(a, subject);
    // The round trip makes sure the server has a's subscription before b publishes.
    await a.flush();
    for (let i = 0; i < 100; i++) b.publish(subject, encode(String(i)));
    await waitUntil(() => got.messages.length >= 100, '100 messages across connections');
    expect(got.messages.map((m) => decode(m.data))).toEqual(Array.from({ length: 100 }, (_, i) => String(i)));
  });

  it('splits a queue group across connections, each message to exactly one member', async () => {
    const a = await open('a');
    const b = await open('b');
    const publisher = await open('publisher');
    const subject = uniqueSubject();
    const onA = inbox(a, subject, 'workers');
    const onB = inbox(b, subject, 'workers');
    await Promise.all([a.flush(), b.flush()]);
    const count = 200;
    for (let i = 0; i < count; i++) publisher.publish(subject, encode(String(i)));
    await waitUntil(() => onA.messages.length + onB.messages.length >= count, 'the queue group to receive every message');
    // Anything duplicated would have arrived by the time a marker published after it comes back.
    const marker = uniqueSubject();
    const markerInbox = inbox(publisher, marker);
    await publisher.flush();
    publisher.publish(marker, encode('m'));
    await waitUntil(() => markerInbox.messages.length === 1, 'the marker');
    await Promise.all([a.flush(), b.flush()]);
    const all = [...onA.messages, ...onB.messages].map((m) => decode(m.data)).sort();
    expect(all).toEqual(Array.from({ length: count }, (_, i) => String(i)).sort());
    expect(onA.messages.length).toBeGreaterThan(0);
    expect(onB.messages.length).toBeGreaterThan(0);
  });

  it('round-trips a request between two connections, headers (traceparent) included', async () => {
    const responder = await open('responder');
    const requester = await open('requester');
    const subject = uniqueSubject();
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const seen: BusMessage[] = [];
    responder.subscribe(subject, (msg) => {
      seen.push(msg);
      msg.respond(encode(`re:${decode(msg.data)}`), { traceparent: msg.headers?.traceparent ?? 'missing', 'x-served-by': 'responder' });
    });
    await responder.flush();
    const reply = await requester.request(subject, encode('hi'), { timeoutMs: 10_000, headers: { traceparent } });
    expect(decode(reply.data)).toBe('re:hi');
    expect({ ...reply.headers }).toEqual({ traceparent, 'x-served-by': 'responder' });
    expect(seen[0]!.headers).toEqual({ traceparent });
    // A reply is not itself a request.
    expect(reply.respond(encode('no'))).toBe(false);
  });

  it('answers a request once: a second respond() returns false', async () => {
    const bus = await open('once');
    const subject = uniqueSubject();
    const results: boolean[] = [];
    bus.subscribe(subject, (msg) => results.push(msg.respond(encode('first')), msg.respond(encode('second'))));
    const reply = await bus.request(subject, encode('q'), { timeoutMs: 10_000 });
    expect(decode(reply.data)).toBe('first');
    expect(results).toEqual([true, false]);
  });

  it('logs a throwing handler and keeps delivering to it and to others', async () => {
    const { logger, lines } = capturingLogger();
    const bus = await open('throwing', logger);
    const subject = uniqueSubject();
    const thrower: string[] = [];
    bus.subscribe(subject, (msg) => {
      thrower.push(decode(msg.data));
      throw new Error('boom');
    });
    const others = inbox(bus, subject);
    bus.publish(subject, encode('1'));
    bus.publish(subject, encode('2'));
    await waitUntil(() => others.messages.length === 2 && thrower.length === 2, 'both messages to both subscribers');
    expect(thrower).toEqual(['1', '2']);
    const errors = lines.filter((l) => l.msg === 'bus handler threw');
    expect(errors).toHaveLength(2);
    expect(errors[0]!.subject).toBe(subject);
    expect(bus.isReady()).toBe(true);
  });

  it('rejects invalid subjects and queue names with RangeError', async () => {
    const bus = await open('invalid');
    for (const bad of ['', 'a..b', '.a', 'a.', 'a b', 'a.*', 'a.>', '*', '>', 'a.\tb']) {
      expect(() => bus.publish(bad, encode('x')), bad).toThrow(RangeError);
      await expect(bus.request(bad, encode('x'), { timeoutMs: 1000 }), bad).rejects.toBeInstanceOf(RangeError);
    }
    for (const bad of ['', 'a..b', 'a.>.b', '>.a', 'a b', 'a.\n']) {
      expect(() => bus.subscribe(bad, () => {}), bad).toThrow(RangeError);
    }
    expect(() => bus.subscribe('a.b', () => {}, { queue: 'q 1' })).toThrow(RangeError);
    expect(() => bus.publish('a.b', encode('x'), { 'x-bad': 'line\r\nbreak' })).toThrow(RangeError);
    expect(() => bus.subscribe('a.*.c', () => {})).not.toThrow();
    expect(() => bus.subscribe('a.>', () => {})).not.toThrow();
  });

  it('rejects requests still waiting for a reply with BusClosedError on close(), and refuses work afterwards', async () => {
    const bus = await open('closing');
    const subject = uniqueSubject();
    const received = inbox(bus, subject);
    const pending = errorOf(bus.request(subject, encode('q'), { timeoutMs: 60_000 }));
    await waitUntil(() => received.messages.length === 1, 'the request to arrive');
    await bus.close();
    expect(await pending).toBeInstanceOf(BusClosedError);
    expect(bus.isReady()).toBe(false);
    expect(received.messages[0]!.respond(encode('late'))).toBe(false);
    expect(() => bus.publish(subject, encode('x'))).toThrow(BusClosedError);
    expect(() => bus.subscribe(subject, () => {})).toThrow(BusClosedError);
    await expect(bus.close()).resolves.toBeUndefined();
  });

  it('fails at start with an error naming the URL when nothing listens there', async () => {
    const url = `nats://127.0.0.1:${await freePort()}`;
    const err = await errorOf(connectNatsBus({ servers: url, name: 'nowhere', logger: silentLogger() }));
    expect(err).toBeInstanceOf(BusClosedError);
    expect((err as Error).message).toContain(url);
    expect((err as Error).cause).toBeDefined();
  });

  describe('when the server dies and comes back', () => {
    let own: NatsServerProcess;

    beforeAll(async () => {
      // A server of its own: killing the shared one would disturb the other tests' connections.
      own = await startNatsServer();
    });

    afterAll(async () => {
      await own?.stop();
    });

    it('is not ready while it is down, fails requests fast, then reconnects and restores subscriptions', async () => {
      const { logger, lines } = capturingLogger();
      const registry = new Registry();
      const subscriber = await open('subscriber', logger, own.url, registry);
      const metric = async (name: string) => (await registry.getSingleMetric(name)!.get()).values[0]?.value;
      expect(await metric('chat_nats_connected')).toBe(1);
      const requester = await open('requester', silentLogger(), own.url);
      const downWhileClosing = await open('closed-while-down', silentLogger(), own.url);
      const events = uniqueSubject();
      const rpc = uniqueSubject();
      const got = inbox(subscriber, events);
      subscriber.subscribe(rpc, (msg) => msg.respond(encode(`pong:${decode(msg.data)}`)));
      await subscriber.flush();
      expect(decode((await requester.request(rpc, encode('1'), { timeoutMs: 10_000 })).data)).toBe('pong:1');

      await own.kill('SIGKILL');
      await waitUntil(() => !subscriber.isReady() && !requester.isReady(), 'both buses to notice the server is gone');
      expect(await metric('chat_nats_connected')).toBe(0);
      expect(await metric('chat_nats_disconnects_total')).toBe(1);

      // A request while down fails at once with a retryable error rather than waiting out its timeout.
      const down = await errorOf(requester.request(rpc, encode('2'), { timeoutMs: 60_000 }));
      expect(down).toBeInstanceOf(BusClosedError);
      expect((down as PlatformError).code).toBe('unavailable');
      await expect(requester.flush()).rejects.toBeInstanceOf(BusClosedError);
      // Closing while disconnected does not wait for a server that is not there.
      await downWhileClosing.close();
      expect(downWhileClosing.isReady()).toBe(false);

      await own.restart();
      await waitUntil(() => subscriber.isReady() && requester.isReady(), 'both buses to reconnect');
      // The round trip makes sure the server has the restored subscriptions.
      await subscriber.flush();

      requester.publish(events, encode('after restart'), { traceparent: '00-aa-bb-01' });
      await waitUntil(() => got.messages.length === 1, 'delivery after the restart');
      expect(decode(got.messages[0]!.data)).toBe('after restart');
      expect(got.messages[0]!.headers).toEqual({ traceparent: '00-aa-bb-01' });
      expect(decode((await requester.request(rpc, encode('3'), { timeoutMs: 10_000 })).data)).toBe('pong:3');

      expect(await metric('chat_nats_connected')).toBe(1);
      expect(await metric('chat_nats_reconnects_total')).toBe(1);
      expect(lines.some((l) => l.msg.startsWith('disconnected from NATS'))).toBe(true);
      expect(lines.some((l) => l.msg === 'reconnected to NATS')).toBe(true);
    });
  });
});
