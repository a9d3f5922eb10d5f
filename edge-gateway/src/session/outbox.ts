import { CloseCode } from '@chat/proto';
import { tracingEnabled } from '@chat/platform';
import type { Session } from './session.js';
import type { GatewayMetrics } from '../metrics.js';

/** A frame waiting in a session's outbox; `origin` is the send's receipt time for the delivery histogram (0: none). */
export interface OutboxItem {
  frame: string;
  origin: number;
  /** The sampled trace that delivered it (tracing on): the delivery histogram's exemplar. */
  traceId?: string | undefined;
}

/**
 * Frames to sessions, written in batches: frames produced during one turn of
 * the event loop (a bus drain, a NATS read, a store commit's continuations)
 * wait in their session's outbox and go out in one corked write per socket in
 * that turn's check phase (setImmediate), so a sender's ack and its own
 * message.new cost one syscall, not two. (A microtask flush ran between the
 * ack's continuation and the event's: measured, it wrote them apart.)
 *
 * Backpressure: a session whose unsent buffer passes `limitBytes` after a
 * flush (or whose frame uWS dropped) is closed with 4003 so it reconnects and
 * syncs, instead of buffering without bound.
 */
export class Outbox {
  readonly #dirty = new Set<Session>();
  #scheduled = false;
  /** As GatewayMetrics decided when it was made (both after tracing started): its histogram then takes exemplars. */
  readonly #exemplars = tracingEnabled();

  constructor(
    private readonly limitBytes: number,
    private readonly metrics: GatewayMetrics,
  ) {}

  /** Queues a frame; false if the session is closed (nothing queued). */
  send(session: Session, frame: string, origin = 0, traceId?: string): boolean {
    const data = session.getUserData();
    if (!data.open) return false;
    data.outbox.push(traceId === undefined ? { frame, origin } : { frame, origin, traceId });
    this.#markDirty(session);
    return true;
  }

  /**
   * Sends `hello` ahead of everything queued so far and opens the session's
   * outbox: until then frames wait, so hello is always the first frame.
   */
  greet(session: Session, hello: string): void {
    const data = session.getUserData();
    if (!data.open || data.greeted) return;
    data.greeted = true;
    data.outbox.unshift({ frame: hello, origin: 0 });
    this.#markDirty(session);
  }

  #markDirty(session: Session): void {
    this.#dirty.add(session);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.flush);
    }
  }

  /** Writes every queued frame now. */
  readonly flush = (): void => {
    this.#scheduled = false;
    for (const session of this.#dirty) this.#write(session);
    this.#dirty.clear();
  };

  #write(session: Session): void {
    const data = session.getUserData();
    if (!data.greeted) return; // greet() reschedules it
    // The same array is emptied after every write, never replaced: a session's
    // queue lives long enough to reach the old generation, and an old array
    // dropped with frames still in it would keep them (and whatever they
    // reference) alive through every young-generation GC until the next full
    // one, promoting them all.
    const items = data.outbox;
    if (!data.open || items.length === 0) {
      items.length = 0;
      return;
    }
    let dropped = false;
    session.cork(() => {
      for (const item of items) {
        // Stop at the limit, not at uWS's hard one (twice as high): past that
        // uWS drops frames, the 4003 close frame too, and the client would
        // see a bare 1006 instead of being told to reconnect and sync.
        if (session.getBufferedAmount() > this.limitBytes || session.send(item.frame, false, false) === 2) {
          dropped = true;
          break;
        }
      }
    });
    if (dropped || session.getBufferedAmount() > this.limitBytes) {
      items.length = 0;
      data.open = false;
      this.metrics.closes.inc({ reason: 'backpressure' });
      session.end(CloseCode.SLOW_CONSUMER, 'slow consumer: reconnect and sync');
      return;
    }
    const now = performance.timeOrigin + performance.now();
    for (const item of items) {
      if (item.origin === 0) continue;
      this.metrics.eventsDelivered.inc();
      const value = (now - item.origin) / 1000;
      if (!this.#exemplars) this.metrics.deliveryLatency.observe(value);
      else this.metrics.deliveryLatency.observe({ value, exemplarLabels: item.traceId === undefined ? {} : { traceId: item.traceId } });
    }
    items.length = 0;
  }
}
