import WebSocket from 'ws';
import { websocketUrlOf } from '@chat/client';
import { type ExpectedReply, expectedReply } from './frame-mutations.js';

/**
 * A raw protocol socket for fuzzing a live gateway: sends any text as a text
 * frame and keeps a ledger of what each one must get (expectedReply) against
 * what came back, counted by `re`. It speaks no protocol beyond waiting for
 * `hello`, so nothing in it can hide a reply that was missing or doubled.
 */
export class FuzzSocket {
  /** Replies expected, by id; `null` counts the ones owed `re: null`. */
  readonly #expected = new Map<string | null, number>();
  /** Replies received, by `re`. */
  readonly #received = new Map<string | null, number>();
  /** Replies received by outcome (`ok`, or the error code), with how many of each. */
  readonly codes = new Map<string, number>();
  /** Frames sent by the reply they were owed: to their id, with `re: null`, or none. */
  readonly owed = { id: 0, null: 0, none: 0 };
  /** Frames received that are neither a reply nor an event (should stay empty). */
  readonly strays: string[] = [];
  /** Replies whose `re` no frame was owed (should stay empty). */
  readonly unexpected: unknown[] = [];
  #sent = 0;
  #closed: { code: number; reason: string } | undefined;
  #waiters = new Set<() => void>();

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => this.#onMessage(String(data)));
    ws.on('close', (code, reason) => {
      this.#closed = { code, reason: String(reason) };
      this.#wake();
    });
  }

  /** Connects with `token` and resolves once `hello` arrived. */
  static connect(baseUrl: string, token: string, timeoutMs = 10_000): Promise<FuzzSocket> {
    const ws = new WebSocket(`${websocketUrlOf(baseUrl)}?token=${encodeURIComponent(token)}`);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        ws.terminate();
        reject(new Error(`no hello within ${timeoutMs} ms`));
      }, timeoutMs);
      ws.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      ws.once('message', (data) => {
        clearTimeout(timer);
        const frame = JSON.parse(String(data)) as { ev?: string };
        if (frame.ev !== 'hello') reject(new Error(`first frame was not hello: ${String(data).slice(0, 200)}`));
        else resolve(new FuzzSocket(ws));
      });
    });
  }

  /** Sends `text` as a text frame and books the reply it is owed. */
  send(text: string): ExpectedReply {
    const want = expectedReply(text);
    this.owed[want.kind]++;
    if (want.kind !== 'none') {
      const key = want.kind === 'id' ? want.id : null;
      this.#expected.set(key, (this.#expected.get(key) ?? 0) + 1);
    }
    this.#sent++;
    this.ws.send(text);
    return want;
  }

  get sent(): number {
    return this.#sent;
  }

  /** How the socket was closed, if it was. */
  get closed(): { code: number; reason: string } | undefined {
    return this.#closed;
  }

  /** Ids (and `null`) whose replies are still missing or came too often, with [expected, received]. */
  discrepancies(): Map<string | null, [number, number]> {
    const out = new Map<string | null, [number, number]>();
    for (const key of new Set([...this.#expected.keys(), ...this.#received.keys()])) {
      const want = this.#expected.get(key) ?? 0;
      const got = this.#received.get(key) ?? 0;
      if (want !== got) out.set(key, [want, got]);
    }
    return out;
  }

  /** Resolves once every owed reply came (true), or after `timeoutMs` or a close (false). */
  settled(timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve(ok);
      };
      const check = () => {
        if (this.#closed) done(false);
        else if ([...this.discrepancies().values()].every(([want, got]) => got >= want)) done(true);
      };
      const timer = setTimeout(() => done(false), timeoutMs);
      this.#waiters.add(check);
      check();
    });
  }

  /** Closes with 1000 and waits for the close. */
  async close(): Promise<void> {
    if (this.#closed) return;
    const closed = new Promise<void>((resolve) => this.ws.once('close', () => resolve()));
    this.ws.close(1000);
    await closed;
  }

  #onMessage(text: string): void {
    let frame: { re?: unknown; ev?: unknown; ok?: unknown; error?: { code?: unknown } };
    try {
      frame = JSON.parse(text) as typeof frame;
    } catch {
      this.strays.push(text.slice(0, 200));
      return;
    }
    if (typeof frame.ev === 'string') return; // an event
    if (!('re' in frame) || (frame.re !== null && typeof frame.re !== 'string') || typeof frame.ok !== 'boolean') {
      this.strays.push(text.slice(0, 200));
      return;
    }
    const key = frame.re as string | null;
    if (!this.#expected.has(key)) this.unexpected.push(frame);
    this.#received.set(key, (this.#received.get(key) ?? 0) + 1);
    const outcome = frame.ok ? 'ok' : String(frame.error?.code);
    this.codes.set(outcome, (this.codes.get(outcome) ?? 0) + 1);
    this.#wake();
  }

  #wake(): void {
    for (const w of [...this.#waiters]) w();
  }
}
