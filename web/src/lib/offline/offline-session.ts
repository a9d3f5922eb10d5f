import type { ChatState } from '../state/chat-state.js';
import type { OfflineStore } from './offline-store.js';
import { Outbox } from './outbox.js';
import { SnapshotKeeper, applySnapshot } from './snapshot.js';

/**
 * One signed-in client's offline data, tied to its ChatState: `restore` puts
 * the kept snapshot and outbox into the state (an offline start shows them),
 * then `attach` keeps them current (the outbox follows every change to the
 * pending sends, the snapshot is saved at most once a second). A store that
 * fails is reported to `onError` and leaves the client working in memory.
 */
export class OfflineSession {
  /** Ids of the conversations the snapshot showed, for the check against conversation.list. */
  readonly shown: ReadonlySet<string>;
  /** The newest createdAt among the restored sends: new sends must come after it. */
  readonly lastCreatedAt: number;

  private constructor(
    readonly state: ChatState,
    readonly outbox: Outbox,
    readonly snapshots: SnapshotKeeper,
    shown: Set<string>,
    lastCreatedAt: number,
  ) {
    this.shown = shown;
    this.lastCreatedAt = lastCreatedAt;
  }

  /** Reads the store into `state` (which should be empty: nothing has connected yet). */
  static async restore(state: ChatState, store: OfflineStore, onError: (err: unknown) => void, now: () => number): Promise<OfflineSession> {
    const snapshot = await store.snapshot().catch(onError);
    if (snapshot) applySnapshot(state, snapshot);
    const outbox = new Outbox(store, onError);
    const kept = await outbox.restore().catch((err: unknown) => {
      onError(err);
      return [];
    });
    let lastCreatedAt = 0;
    for (const p of kept) {
      lastCreatedAt = Math.max(lastCreatedAt, p.createdAt);
      state.addPending(p);
      if (p.status === 'failed') state.failSend(p.clientMsgId, p.error ?? '');
    }
    const snapshots = new SnapshotKeeper(store, state, 1_000, onError, now);
    return new OfflineSession(state, outbox, snapshots, new Set(snapshot?.conversations.map((c) => c.id)), lastCreatedAt);
  }

  /** Keeps the store current from now on; call the result to stop (before the state is cleared, or the outbox would empty). */
  attach(): () => void {
    const off = this.state.subscribe(() => {
      void this.outbox.mirror(this.state.pendingSends());
      this.snapshots.changed();
    });
    return () => {
      off();
      this.snapshots.stop();
    };
  }

  /** Resolves once every outbox write asked for so far has settled (a send is kept before it goes out). */
  written(): Promise<void> {
    return this.outbox.written();
  }

  /** Saves the snapshot now (the page is going away). */
  flush(): Promise<void> {
    return this.snapshots.flush();
  }
}
