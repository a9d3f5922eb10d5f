import type { PendingSend } from '../state/chat-state.js';
import { MemoryStore } from './memory-store.js';
import type { OfflineStore, Snapshot } from './offline-store.js';

const VERSION = 1;
const OUTBOX = 'outbox';
const SNAPSHOT = 'snapshot';
const SNAPSHOT_KEY = 'latest';

/** One database per user, so two people signing in on one browser never see each other's data. */
function databaseName(userId: string): string {
  return `chat-offline:${userId}`;
}

/**
 * The OfflineStore over IndexedDB: database `chat-offline:<userId>` with an
 * `outbox` store keyed by clientMsgId and a `snapshot` store holding one
 * record. A thin adapter with no logic of its own (the ordering and ack
 * logic is in outbox.ts): each call is one transaction, resolved when it
 * commits, so a send is on disk before it goes out.
 */
export class IndexedDbStore implements OfflineStore {
  private constructor(readonly db: IDBDatabase) {}

  /** Opens (creating on first use) the user's database; rejects where IndexedDB is unavailable. */
  static async open(userId: string, factory: IDBFactory = indexedDB): Promise<IndexedDbStore> {
    const request = factory.open(databaseName(userId), VERSION);
    request.onupgradeneeded = () => {
      const db = request.result;
      if (!db.objectStoreNames.contains(OUTBOX)) db.createObjectStore(OUTBOX, { keyPath: 'clientMsgId' });
      if (!db.objectStoreNames.contains(SNAPSHOT)) db.createObjectStore(SNAPSHOT);
    };
    const db = await settled(request);
    // Another tab deleting the database (its user signed out) must not wait on this one.
    db.onversionchange = () => db.close();
    return new IndexedDbStore(db);
  }

  outbox(): Promise<PendingSend[]> {
    return this.#run(OUTBOX, 'readonly', (s) => s.getAll() as IDBRequest<PendingSend[]>);
  }

  putSend(send: PendingSend): Promise<void> {
    return this.#run(OUTBOX, 'readwrite', (s) => s.put(send)).then(() => undefined);
  }

  deleteSend(clientMsgId: string): Promise<void> {
    return this.#run(OUTBOX, 'readwrite', (s) => s.delete(clientMsgId));
  }

  snapshot(): Promise<Snapshot | undefined> {
    return this.#run(SNAPSHOT, 'readonly', (s) => s.get(SNAPSHOT_KEY) as IDBRequest<Snapshot | undefined>);
  }

  saveSnapshot(snapshot: Snapshot): Promise<void> {
    return this.#run(SNAPSHOT, 'readwrite', (s) => s.put(snapshot, SNAPSHOT_KEY)).then(() => undefined);
  }

  close(): void {
    this.db.close();
  }

  /** One request in a transaction of its own: its result once the transaction has committed. */
  #run<T>(store: string, mode: IDBTransactionMode, act: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const tx = this.db.transaction(store, mode);
      const request = act(tx.objectStore(store));
      tx.oncomplete = () => resolve(request.result);
      tx.onabort = tx.onerror = () => reject(tx.error ?? request.error ?? new Error('IndexedDB transaction failed'));
    });
  }
}

/** Deletes a user's offline data (on sign-out); resolves even when nothing was kept or another tab holds it open. */
export function deleteOfflineData(userId: string, factory: IDBFactory = indexedDB): Promise<void> {
  return new Promise((resolve) => {
    const request = factory.deleteDatabase(databaseName(userId));
    request.onsuccess = request.onerror = request.onblocked = () => resolve();
  });
}

function settled<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error ?? new Error('IndexedDB request failed'));
  });
}

/** The store for a signed-in user: IndexedDB, or memory where IndexedDB cannot be opened (offline data then lasts until a reload). */
export async function openOfflineStore(userId: string, onError: (err: unknown) => void = () => {}): Promise<OfflineStore> {
  try {
    return await IndexedDbStore.open(userId);
  } catch (err) {
    onError(err);
    return new MemoryStore();
  }
}
