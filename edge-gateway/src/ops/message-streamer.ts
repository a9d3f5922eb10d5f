import type { MessageJson } from '@chat/proto';
import type { OpHandlers, RequestContext } from './op-handlers.js';

/**
 * One streamed message as its sender's gateway drives it (the gRPC
 * StreamMessage call): text arrives in deltas; the first allocates the
 * message (`message.send` with `streaming`), the rest grow it
 * (`message.stream`), `end` finishes it. Calls go one at a time through the
 * caller's lane, and text arriving meanwhile waits and goes in the next call,
 * so a fast producer costs fewer calls, never reorders text, and never waits
 * for a reply to hand over its next delta.
 *
 * The gateway keeps the whole body it was given, so when the actor answers a
 * length short of it (its host died and the new owner has the body as last
 * persisted, up to 500 ms behind), the missing part is sent again: nothing
 * the producer handed over is lost or doubled while this gateway lives.
 */
export class MessageStreamer {
  /** Everything the producer handed over, in order. */
  #body = '';
  /** How much of #body the actor holds, as far as we know. */
  #acked = 0;
  #seq: number | undefined;
  #pump: Promise<void> | undefined;
  #failure: unknown;
  #ended: MessageJson | undefined;

  constructor(
    private readonly handlers: OpHandlers,
    private readonly ctx: RequestContext,
    readonly conversationId: string,
    readonly clientMsgId: string,
    /** Told of the first failed call at once (the producer may not write again soon). */
    private readonly onFailure: (err: unknown) => void = () => {},
    /**
     * Asked before each call: 0 to go, or ms to wait (the caller's rate budget).
     * Waiting only batches more text into the next call; nothing is refused.
     */
    private readonly pace: () => number = () => 0,
  ) {}

  /** The message's seq once the first delta allocated it. */
  get seq(): number | undefined {
    return this.#seq;
  }

  /** The first failure of a call (then the stream is dead: the caller ends it with that error). */
  get failure(): unknown {
    return this.#failure;
  }

  /** Queues `text`; sent with whatever else is queued as soon as the call before it is answered. */
  append(text: string): void {
    if (this.#ended || text.length === 0) return;
    this.#body += text;
    this.#kick();
  }

  /**
   * Sends what is queued, then finishes the message (`truncated`: the
   * producer's stream broke). Resolves with the final message; rejects with
   * the first failure of any call. A stream that never got a delta is
   * allocated here, with an empty body.
   */
  async end(truncated = false): Promise<MessageJson> {
    if (this.#ended) return this.#ended;
    await this.#drain();
    if (this.#seq === undefined) await this.#start();
    this.#throwIfFailed();
    for (;;) {
      await this.#paced();
      const offset = this.#acked;
      const text = this.#body.slice(offset);
      const r = await this.handlers['message.stream'](this.ctx, {
        conversationId: this.conversationId,
        seq: this.#seq!,
        offset,
        text,
        end: true,
        truncated,
      });
      if (r.message) {
        this.#ended = r.message;
        return r.message;
      }
      // A gap (the actor's body is shorter than ours): resend from its length and end again.
      this.#acked = r.length;
    }
  }

  #kick(): void {
    if (this.#pump || this.#failure) return;
    this.#pump = this.#run().finally(() => {
      this.#pump = undefined;
      if (!this.#failure && this.#acked < this.#body.length) this.#kick();
    });
  }

  async #drain(): Promise<void> {
    while (this.#pump) await this.#pump;
    this.#throwIfFailed();
  }

  async #run(): Promise<void> {
    try {
      if (this.#seq === undefined) return await this.#start();
      while (this.#acked < this.#body.length) {
        await this.#paced();
        const offset = this.#acked;
        const r = await this.handlers['message.stream'](this.ctx, {
          conversationId: this.conversationId,
          seq: this.#seq,
          offset,
          text: this.#body.slice(offset),
          end: false,
          truncated: false,
        });
        // Equal to our length: all held. Shorter: a gap, resent by the next turn from there.
        this.#acked = Math.min(r.length, this.#body.length);
      }
    } catch (err) {
      if (this.#failure === undefined) {
        this.#failure = err;
        this.onFailure(err);
      }
    }
  }

  async #start(): Promise<void> {
    await this.#paced();
    const body = this.#body;
    const r = await this.handlers['message.send'](this.ctx, {
      conversationId: this.conversationId,
      clientMsgId: this.clientMsgId,
      body,
      attachments: [],
      streaming: true,
    });
    this.#seq = r.message.seq;
    // A retried start (duplicate) answers the message as stored: go on from what it holds.
    this.#acked = r.duplicate ? Math.min(r.message.body.length, this.#body.length) : body.length;
  }

  async #paced(): Promise<void> {
    for (let wait = this.pace(); wait > 0; wait = this.pace()) await new Promise((r) => setTimeout(r, wait));
  }

  #throwIfFailed(): void {
    if (this.#failure) throw this.#failure;
  }
}
