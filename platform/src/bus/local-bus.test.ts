import { afterEach, describe, expect, it, vi } from 'vitest';
import { runBusContract, uniqueSubject } from '@chat/testkit/bus-contract';
import { LocalBus } from './local-bus.js';
import { type BusMessage, type Codec, decodeBody, encoded } from './bus.js';
import { BusClosedError } from '../errors.js';

runBusContract('LocalBus', async () => {
  const bus = new LocalBus();
  return { bus, cleanup: () => bus.close() };
});

const encode = (text: string): Uint8Array => new TextEncoder().encode(text);
const decode = (data: Uint8Array): string => new TextDecoder().decode(data);

describe('LocalBus', () => {
  const buses: LocalBus[] = [];
  function open(onHandlerError?: (err: unknown, subject: string) => void): LocalBus {
    const bus = new LocalBus(onHandlerError);
    buses.push(bus);
    return bus;
  }

  afterEach(async () => {
    vi.useRealTimers();
    for (const bus of buses.splice(0)) await bus.close();
  });

  it('reports a throwing handler to onHandlerError and still delivers to the other subscribers', async () => {
    const errors: { err: unknown; subject: string }[] = [];
    const bus = open((err, subject) => errors.push({ err, subject }));
    const subject = uniqueSubject();
    const boom = new Error('boom');
    const thrower: string[] = [];
    const others: string[] = [];
    bus.subscribe(subject, (msg) => {
      thrower.push(decode(msg.data));
      throw boom;
    });
    bus.subscribe(subject, (msg) => others.push(decode(msg.data)));
    bus.publish(subject, encode('1'));
    bus.publish(subject, encode('2'));
    await bus.flush();
    expect(others).toEqual(['1', '2']);
    // The throwing subscriber stays subscribed.
    expect(thrower).toEqual(['1', '2']);
    expect(errors).toEqual([
      { err: boom, subject },
      { err: boom, subject },
    ]);
  });

  it('hands an object body over as the object itself, encoding it only if a receiver reads data', async () => {
    const bus = open();
    let encodes = 0;
    let decodes = 0;
    const codec: Codec<{ n: number }> = {
      encode: (v) => ({ finish: () => (encodes++, encode(JSON.stringify(v))) }),
      decode: (b) => (decodes++, JSON.parse(decode(b)) as { n: number }),
    };
    const value = { n: 1 };
    const got: BusMessage[] = [];
    const subject = uniqueSubject();
    bus.subscribe(subject, (msg) => got.push(msg));
    bus.subscribe(subject, (msg) => got.push(msg));
    bus.publish(subject, encoded(codec, value));
    await bus.flush();
    expect(got.map((m) => decodeBody(m, codec))).toEqual([value, value]);
    expect(decodeBody(got[0]!, codec)).toBe(value);
    expect([encodes, decodes]).toEqual([0, 0]);
    expect(decode(got[0]!.data)).toBe('{"n":1}');
    expect(decode(got[1]!.data)).toBe('{"n":1}');
    expect(encodes).toBe(1); // once, for both receivers
  });

  it('rejects invalid subjects with RangeError', async () => {
    const bus = open();
    for (const bad of ['', 'a..b', '.a', 'a.', 'a b', 'a.*', 'a.>', '*', '>', 'a.\tb']) {
      expect(() => bus.publish(bad, encode('x')), bad).toThrow(RangeError);
      await expect(bus.request(bad, encode('x'), { timeoutMs: 1000 }), bad).rejects.toBeInstanceOf(RangeError);
    }
    for (const bad of ['', 'a..b', 'a.>.b', '>.a', 'a b', 'a.\n']) {
      expect(() => bus.subscribe(bad, () => {}), bad).toThrow(RangeError);
    }
    // Valid wildcard subscriptions are accepted.
    expect(() => bus.subscribe('a.*.c', () => {})).not.toThrow();
    expect(() => bus.subscribe('a.>', () => {})).not.toThrow();
  });

  it('leaves no timer behind when a request is refused for its subject', async () => {
    vi.useFakeTimers();
    const bus = open();
    await expect(bus.request('a.*', encode('x'), { timeoutMs: 60_000 })).rejects.toBeInstanceOf(RangeError);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('rejects requests still waiting for a reply with BusClosedError on close()', async () => {
    const bus = open();
    const subject = uniqueSubject();
    const received: BusMessage[] = [];
    bus.subscribe(subject, (msg) => received.push(msg));
    const pending = bus.request(subject, encode('q'), { timeoutMs: 60_000 });
    await bus.close();
    await expect(pending).rejects.toBeInstanceOf(BusClosedError);
    expect(received).toHaveLength(1);
    // Answering after close does nothing.
    expect(received[0]!.respond(encode('late'))).toBe(false);
  });

  it('refuses publish and subscribe once closed', async () => {
    const bus = open();
    await bus.close();
    expect(() => bus.publish('a.b', encode('x'))).toThrow(BusClosedError);
    expect(() => bus.subscribe('a.b', () => {})).toThrow(BusClosedError);
  });

  it('answers a request once: a second respond() returns false', async () => {
    const bus = open();
    const subject = uniqueSubject();
    const results: boolean[] = [];
    bus.subscribe(subject, (msg) => {
      results.push(msg.respond(encode('first')), msg.respond(encode('second')));
    });
    const reply = await bus.request(subject, encode('q'), { timeoutMs: 5000 });
    expect(decode(reply.data)).toBe('first');
    expect(results).toEqual([true, false]);
  });

  it('flush() waits for deliveries published by handlers during the drain', async () => {
    const bus = open();
    const a = uniqueSubject();
    const b = uniqueSubject();
    const got: string[] = [];
    bus.subscribe(a, (msg) => bus.publish(b, msg.data));
    bus.subscribe(b, (msg) => got.push(decode(msg.data)));
    for (let i = 0; i < 5000; i++) bus.publish(a, encode(String(i)));
    await bus.flush();
    expect(got).toHaveLength(5000);
    expect(got[4999]).toBe('4999');
  });
});
