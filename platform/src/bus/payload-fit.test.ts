import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NatsServerProcess, startNatsServer } from '@chat/testkit/servers';
import { ConfigError } from '../errors.js';
import { silentLogger } from '../logger.js';
import { LocalBus } from './local-bus.js';
import { type NatsBus, connectNatsBus } from './nats-bus.js';
import { FRAME_OVERHEAD_BYTES, checkFramesFitBus } from './payload-fit.js';

const MAX_PAYLOAD = 96 * 1024;
let nats: NatsServerProcess;
let bus: NatsBus;

beforeAll(async () => {
  nats = await startNatsServer({ jetstream: false, maxPayload: MAX_PAYLOAD });
  bus = await connectNatsBus({ servers: nats.url, name: 'payload-fit-test', logger: silentLogger() });
});
afterAll(async () => {
  await bus?.close();
  await nats?.stop();
});

describe('checkFramesFitBus', () => {
  it('passes frames whose bus messages fit the server’s max_payload, up to the last byte, and refuses one byte more, naming both settings', () => {
    const largest = MAX_PAYLOAD - FRAME_OVERHEAD_BYTES;
    expect(() => checkFramesFitBus(bus, 64 * 1024)).not.toThrow();
    expect(() => checkFramesFitBus(bus, largest)).not.toThrow();
    expect(() => checkFramesFitBus(bus, largest + 1)).toThrow(ConfigError);
    expect(() => checkFramesFitBus(bus, largest + 1)).toThrow(
      `MAX_FRAME_BYTES: frames of ${largest + 1} bytes make bus messages of up to ${MAX_PAYLOAD + 1} bytes, over the NATS server's max_payload of ${MAX_PAYLOAD} bytes; set MAX_FRAME_BYTES to at most ${largest} or raise max_payload on every NATS server`,
    );
  });

  it('never refuses on the in-process bus, which has no message limit', () => {
    expect(() => checkFramesFitBus(new LocalBus(), 16 * 1024 * 1024)).not.toThrow();
  });
});
