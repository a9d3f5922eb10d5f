import type { User } from '@chat/proto';
import { type Logger, silentLogger } from '@chat/platform';
import { StoreCannotWriteError } from '../errors.js';
import type { AppendBatch, AppendResult, BotRecord, ChatStore, MembershipChange, MessageUpdate, NewBot, NewConversation, ConversationRecord, ReceiptMark, ReceiptMarksRecord } from './store.js';
import { ForwardingStore } from './forwarding-store.js';

/** How often a store that cannot write is probed (ChatStore.probeWrite) until it can again. */
export const DEFAULT_WRITE_PROBE_MS = 1000;

export interface WriteHealthOptions {
  logger?: Logger;
  /** Between probes while the store cannot write. Default DEFAULT_WRITE_PROBE_MS. */
  probeMs?: number;
  /** Called when `writable` changes (e.g. to set a gauge). */
  onChange?: (writable: boolean) => void;
}

/**
 * A ChatStore that knows whether its store can write, for readiness: every
 * call goes to the wrapped store unchanged; a write failing with
 * StoreCannotWriteError (disk full, read-only, I/O error) turns `writable`
 * false, and the next write that succeeds turns it true again. Nothing is
 * refused on its account: each write is still tried for real, so the first
 * one after space returns succeeds. While it is false the store's own probe
 * (ChatStore.probeWrite, when it has one) runs every `probeMs`, so readiness
 * comes back even when no traffic arrives (a load balancer sends none to a
 * host that is not ready).
 */
export class WriteHealthStore extends ForwardingStore {
  #failure: StoreCannotWriteError | undefined;
  #probe: NodeJS.Timeout | undefined;
  #closed = false;
  readonly #logger: Logger;
  readonly #probeMs: number;
  readonly #onChange: (writable: boolean) => void;

  constructor(inner: ChatStore, options: WriteHealthOptions = {}) {
    super(inner);
    this.#logger = options.logger ?? silentLogger();
    this.#probeMs = options.probeMs ?? DEFAULT_WRITE_PROBE_MS;
    this.#onChange = options.onChange ?? (() => {});
  }

  /** False from a write failing with StoreCannotWriteError until a write or probe succeeds. */
  get writable(): boolean {
    return this.#failure === undefined;
  }

  /** Why the store cannot write (the last such failure), or undefined while it can. */
  get failure(): StoreCannotWriteError | undefined {
    return this.#failure;
  }

  override upsertUser(user: User): Promise<void> {
    return this.#write(this.inner.upsertUser(user));
  }
  override createBot(bot: NewBot): Promise<void> {
    return this.#write(this.inner.createBot(bot));
  }
  override revokeBot(userId: string, revokedAt: number): Promise<BotRecord | null> {
    return this.#write(this.inner.revokeBot(userId, revokedAt));
  }
  override createConversation(conversation: NewConversation, epoch: number): Promise<{ record: ConversationRecord; created: boolean }> {
    return this.#write(this.inner.createConversation(conversation, epoch), (r) => r.created);
  }
  override appendMessages(batch: AppendBatch): Promise<AppendResult> {
    // Duplicates wrote nothing: they prove nothing about the disk.
    return this.#write(this.inner.appendMessages(batch), (r) => r.kind === 'appended');
  }
  override updateMessage(update: MessageUpdate): Promise<void> {
    return this.#write(this.inner.updateMessage(update));
  }
  override applyMembershipChange(change: MembershipChange): Promise<void> {
    return this.#write(this.inner.applyMembershipChange(change));
  }
  override markReceipt(mark: ReceiptMark): Promise<ReceiptMarksRecord> {
    return this.#write(this.inner.markReceipt(mark));
  }
  probeWrite(): Promise<void> {
    return this.inner.probeWrite ? this.#write(this.inner.probeWrite()) : Promise.resolve();
  }

  override async close(): Promise<void> {
    this.#closed = true;
    this.#stopProbing();
    await this.inner.close();
  }

  /** Watches one write: a StoreCannotWriteError marks the store down, a success (`wrote`) marks it up. */
  async #write<T>(write: Promise<T>, wrote: (result: T) => boolean = () => true): Promise<T> {
    try {
      const result = await write;
      if (this.#failure && wrote(result)) this.#recovered();
      return result;
    } catch (err) {
      if (err instanceof StoreCannotWriteError) this.#failed(err);
      throw err;
    }
  }

  #failed(err: StoreCannotWriteError): void {
    const was = this.#failure;
    this.#failure = err;
    if (!was) {
      this.#logger.error({ err }, 'the store cannot write: not ready until a write succeeds again');
      this.#onChange(false);
    }
    if (!this.#probe && !this.#closed && this.inner.probeWrite) {
      this.#probe = setInterval(() => void this.#runProbe(), this.#probeMs);
      this.#probe.unref();
    }
  }

  #recovered(): void {
    this.#failure = undefined;
    this.#stopProbing();
    this.#logger.warn('the store can write again: ready');
    this.#onChange(true);
  }

  #probing = false;

  async #runProbe(): Promise<void> {
    if (this.#probing || !this.#failure) return;
    this.#probing = true;
    try {
      await this.probeWrite();
    } catch {
      // Still cannot write (recorded by #write); the next tick tries again.
    } finally {
      this.#probing = false;
    }
  }

  #stopProbing(): void {
    if (this.#probe) clearInterval(this.#probe);
    this.#probe = undefined;
  }
}
