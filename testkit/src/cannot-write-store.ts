import { type ChatStore, StoreCannotWriteError } from '@chat/conversation-actors';

/** The ChatStore methods that write (probeWrite included). */
const WRITES: ReadonlySet<string> = new Set([
  'upsertUser',
  'createBot',
  'revokeBot',
  'createConversation',
  'appendMessages',
  'updateMessage',
  'applyMembershipChange',
  'markReceipt',
  'probeWrite',
]);

/** A real store whose writes the test can make fail as a full disk does; see cannotWriteWhen. */
export interface CannotWriteStore extends ChatStore {
  probeWrite(): Promise<void>;
  /** Writes (and probes) tried while full, refused or not. */
  readonly attempts: number;
}

/**
 * A thin wrapper around a real store (e.g. a SqliteStore in a temp dir) for
 * where a real full disk cannot be made (no permission to mount a small
 * tmpfs): while `full()` is true, every write and probeWrite rejects with the
 * error the SQLite store gives when the file system refuses its commit
 * (StoreCannotWriteError, its cause carrying SQLITE_FULL); reads, and all
 * calls once `full()` is false again, go to the real store unchanged.
 */
export function cannotWriteWhen(store: ChatStore, full: () => boolean): CannotWriteStore {
  let attempts = 0;
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'attempts') return attempts;
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof prop !== 'string' || !WRITES.has(prop)) return typeof value === 'function' ? value.bind(target) : value;
      return (...args: unknown[]) => {
        if (full()) {
          attempts++;
          const cause = Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
          return Promise.reject(new StoreCannotWriteError(`${prop}: SQLite commit failed: database or disk is full`, { cause }));
        }
        if (typeof value !== 'function') return Promise.resolve();
        return (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
      };
    },
  }) as CannotWriteStore;
}
