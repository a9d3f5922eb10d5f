import type { PendingSend } from '../state/chat-state.js';
import type { OfflineStore, Snapshot } from './offline-store.js';

/**
 * An OfflineStore that keeps everything in this page's memory: the fallback
 * where IndexedDB cannot be opened (some private modes), so the outbox logic
 * is the same and only a reload forgets. Entries are copied in and out, as a
 * database would, so no caller shares objects with the store.
 */
export class MemoryStore implements OfflineStore {
  readonly #sends = new Map<string, PendingSend>();
  #snapshot: Snapshot | undefined;

  outbox(): Promise<PendingSend[]> {
    return Promise.resolve([...this.#sends.values()].map((s) => structuredClone(s)));
  }

  putSend(send: PendingSend): Promise<void> {
    this.#sends.set(send.clientMsgId, structuredClone(send));
    return Promise.resolve();
  }

  deleteSend(clientMsgId: string): Promise<void> {
    this.#sends.delete(clientMsgId);
    return Promise.resolve();
  }

  snapshot(): Promise<Snapshot | undefined> {
    return Promise.resolve(this.#snapshot && structuredClone(this.#snapshot));
  }

  saveSnapshot(snapshot: Snapshot): Promise<void> {
    this.#snapshot = structuredClone(snapshot);
    return Promise.resolve();
  }
}
