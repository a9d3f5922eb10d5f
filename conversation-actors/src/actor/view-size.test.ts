import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Conversation } from '@chat/proto';
import { ConfigError, FRAME_OVERHEAD_BYTES, LocalBus, type NatsBus, connectNatsBus, silentLogger } from '@chat/platform';
import { type NatsServerProcess, startNatsServer } from '@chat/testkit/servers';
import { checkViewsFitBus, largestMemberListBytes } from './view-size.js';

const FRAME = 64 * 1024;

/** A NATS server whose max_payload holds a 64 KiB frame's message and about 1,800 members. */
const MAX_PAYLOAD = 256 * 1024;
let nats: NatsServerProcess;
let bus: NatsBus;

beforeAll(async () => {
  nats = await startNatsServer({ jetstream: false, maxPayload: MAX_PAYLOAD });
  bus = await connectNatsBus({ servers: nats.url, name: 'view-size-test', logger: silentLogger() });
});

afterAll(async () => {
  await bus?.close();
  await nats?.stop();
});

describe('checkViewsFitBus', () => {
  it('passes a VIEW_MEMBERS whose largest view fits the server’s max_payload, and refuses one that does not, naming both settings', () => {
    const fits = Math.floor((MAX_PAYLOAD - FRAME - FRAME_OVERHEAD_BYTES) / largestMemberListBytes(1));
    expect(bus.maxPayload()).toBe(MAX_PAYLOAD);
    expect(() => checkViewsFitBus(bus, 100, FRAME)).not.toThrow();
    expect(() => checkViewsFitBus(bus, fits - 10, FRAME)).not.toThrow();
    let refused: unknown;
    try {
      checkViewsFitBus(bus, 5000, FRAME);
    } catch (err) {
      refused = err;
    }
    expect(refused).toBeInstanceOf(ConfigError);
    expect((refused as ConfigError).problems).toEqual([
      expect.stringMatching(new RegExp(`^VIEW_MEMBERS: 5000 members make a view of up to \\d+ bytes, over the NATS server's max_payload of ${MAX_PAYLOAD} bytes; set VIEW_MEMBERS to at most \\d+ or raise max_payload on every NATS server$`)),
    ]);
  });

  it('bounds a real view: the largest member list it measures is at least what such members encode to', () => {
    const members = Array.from({ length: 50 }, (_, i) => ({ userId: `u${i}`.padEnd(64, 'z'), role: 'owner', readSeq: 2 ** 40, deliveredSeq: 2 ** 40 }));
    const base = { id: '', kind: '', members: [], createdAt: 0, lastSeq: 0, readSeq: 0, deliveredSeq: 0, unread: 0, changeSeq: 0 };
    const encoded = Conversation.encode({ ...base, members }).finish().length - Conversation.encode(base).finish().length;
    expect(largestMemberListBytes(50)).toBeGreaterThanOrEqual(encoded);
  });

  it('never refuses on the in-process bus, which has no message limit', () => {
    expect(() => checkViewsFitBus(new LocalBus(), 10_000, 16 * 1024 * 1024)).not.toThrow();
  });
});
