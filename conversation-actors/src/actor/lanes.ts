import type { ActorRequest } from '@chat/proto';
import { failure } from './replies.js';

/** Sessions whose lane position an actor remembers; a forgotten one only costs that session a retry. */
const MAX_LANES = 10_000;

/** The answer to a request whose lane predecessor has not been answered yet: `unavailable`, so the client retries. */
export const OUT_OF_ORDER = failure('unavailable', 'an earlier request of this session is not processed yet; retry');

/**
 * Per session, the last lane seq an actor answered (see ActorRequest.lane_after),
 * so a session's requests are served in the order it sent them. Remembers at
 * most MAX_LANES sessions, forgetting the least recently answered first.
 */
export class Lanes {
  readonly #lanes = new Map<string, number>();

  /**
   * Whether the request's lane predecessor (laneAfter) has been answered here,
   * counting sends of this batch (`tentative`) that are about to be written.
   */
  ready(req: ActorRequest, tentative?: Map<string, number>): boolean {
    if (!req.sessionId || req.laneAfter === 0) return true;
    const done = Math.max(this.#lanes.get(req.sessionId) ?? 0, tentative?.get(req.sessionId) ?? 0);
    return done >= req.laneAfter;
  }

  /** Records a final answer in the session's lane (remembering a bounded number of sessions). */
  done(req: ActorRequest): void {
    if (!req.sessionId || req.laneSeq === 0 || (this.#lanes.get(req.sessionId) ?? 0) >= req.laneSeq) return;
    this.#lanes.delete(req.sessionId);
    this.#lanes.set(req.sessionId, req.laneSeq);
    if (this.#lanes.size > MAX_LANES) {
      const oldest = this.#lanes.keys().next().value;
      if (oldest !== undefined) this.#lanes.delete(oldest);
    }
  }
}
