import type { ChatClient } from './chat-client.js';

/** One send as a client saw it. */
export interface SendRecord {
  conversationId: string;
  clientMsgId: string;
  sentAt: number;
  answeredAt: number;
  ok: boolean;
  seq?: number;
  duplicate?: boolean;
  error?: string;
}

/** A client and the group it sends to (it and one partner are members). */
export interface Sender {
  client: ChatClient;
  conversationId: string;
}

/**
 * Steady load for fault tests: every sender sends one message every
 * `intervalMs` until stop() is called, and each send that fails is retried
 * with the same clientMsgId (as a real client would after `unavailable`) until
 * it succeeds or `retryForMs` passes. Records every attempt's outcome.
 */
export class SteadyLoad {
  readonly records: SendRecord[] = [];
  #running = true;
  #loops: Promise<void>[] = [];

  constructor(
    private readonly senders: Sender[],
    private readonly options: { intervalMs: number; retryForMs: number; tag: string },
  ) {}

  start(): this {
    this.#loops = this.senders.map((s, i) => this.#loop(s, i));
    return this;
  }

  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#loops);
  }

  /** The acknowledged sends, one per clientMsgId (the first ack). */
  acked(): Map<string, SendRecord> {
    const out = new Map<string, SendRecord>();
    for (const r of this.records) if (r.ok && !out.has(`${r.conversationId}/${r.clientMsgId}`)) out.set(`${r.conversationId}/${r.clientMsgId}`, r);
    return out;
  }

  async #loop(sender: Sender, index: number): Promise<void> {
    for (let n = 0; this.#running; n++) {
      const clientMsgId = `${this.options.tag}-${index}-${n}`;
      const firstTry = Date.now();
      for (;;) {
        const sentAt = Date.now();
        let reply;
        try {
          reply = await sender.client.request('message.send', { conversationId: sender.conversationId, clientMsgId, body: clientMsgId });
        } catch (err) {
          // No reply at all (socket closed, or none in time): recorded as a failure, and this sender stops.
          this.records.push({ conversationId: sender.conversationId, clientMsgId, sentAt, answeredAt: Date.now(), ok: false, error: `no reply: ${(err as Error).message}` });
          return;
        }
        const record: SendRecord = { conversationId: sender.conversationId, clientMsgId, sentAt, answeredAt: Date.now(), ok: reply.ok };
        if (reply.ok) {
          const m = reply.message as { seq: number };
          record.seq = m.seq;
          record.duplicate = reply.duplicate as boolean;
        } else record.error = reply.error?.code;
        this.records.push(record);
        if (reply.ok || Date.now() - firstTry > this.options.retryForMs) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      await new Promise((r) => setTimeout(r, this.options.intervalMs));
    }
  }
}

/** Every message of a conversation, paging history backwards from the end. */
export async function fullHistory(client: ChatClient, conversationId: string): Promise<{ seq: number; clientMsgId: string }[]> {
  const all: { seq: number; clientMsgId: string }[] = [];
  let before: number | undefined;
  for (;;) {
    const page = await client.call<{ messages: { seq: number; clientMsgId: string }[]; hasMore: boolean }>('message.history', {
      conversationId,
      limit: 200,
      ...(before ? { before } : {}),
    });
    all.unshift(...page.messages);
    if (!page.hasMore || page.messages.length === 0) return all;
    before = page.messages[0]!.seq;
  }
}
