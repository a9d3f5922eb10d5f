import { ConfigError } from '../errors.js';
import type { Bus } from './bus.js';

/**
 * Room a request or event needs besides the client frame it carries: the
 * fields the server adds (ids, seqs, times, the sender), protobuf framing and
 * the headers a publish adds (trace context).
 */
export const FRAME_OVERHEAD_BYTES = 16 * 1024;

/**
 * Refuses to start a role whose largest client frame could not cross the bus:
 * a frame of MAX_FRAME_BYTES becomes a bus request (gateway to actor) and an
 * event (actor to gateways) of about its size, and the NATS server refuses a
 * message over its `max_payload`, so such a send would be accepted by the
 * gateway and then fail. Throws ConfigError naming both settings; a bus
 * without a limit (in process) always passes.
 */
export function checkFramesFitBus(bus: Bus, maxFrameBytes: number): void {
  const limit = bus.maxPayload();
  if (!Number.isFinite(limit) || maxFrameBytes + FRAME_OVERHEAD_BYTES <= limit) return;
  const fits = limit - FRAME_OVERHEAD_BYTES;
  const lower = fits >= 1024 ? `set MAX_FRAME_BYTES to at most ${fits} or raise` : 'raise';
  throw new ConfigError([
    `MAX_FRAME_BYTES: frames of ${maxFrameBytes} bytes make bus messages of up to ${maxFrameBytes + FRAME_OVERHEAD_BYTES} bytes, over the NATS server's max_payload of ${limit} bytes; ${lower} max_payload on every NATS server`,
  ]);
}
