import { afterEach, beforeEach, expect } from 'vitest';
import type { ChatMessage } from '@chat/proto';
import type { ChatStore, ConversationRecord, NewConversation, Role } from '@chat/conversation-actors';
import { T0, message } from './fixtures.js';

/** What a backend hands the contract for one test. */
export interface ContractStore {
  store: ChatStore;
  /**
   * Opens a new store on the same data. Called after `store` was closed; the
   * durability tests are skipped when it is absent.
   */
  reopen?: () => Promise<ChatStore>;
  /**
   * Opens a second store on the same data whose single-user views
   * (getConversationViews, listUserConversations) are bounded to `viewMembers`
   * members in the store (SQLite's and Scylla's viewMembers option). The
   * bounded-view tests are skipped when it is absent.
   */
  openBounded?: (viewMembers: number) => Promise<ChatStore>;
  /** Removes whatever open() created. Called after every store the test used was closed. */
  cleanup: () => Promise<void>;
  /**
   * For a backend whose search index follows the store asynchronously (the
   * PostgreSQL index the indexer keeps): brings it up to date with every
   * write so far. The search contract awaits it before each search.
   */
  settleSearch?: () => Promise<void>;
}

/**
 * The per-test state every topic of the contract shares. Created inside the
 * suite's describe, it registers the hooks that give each test a fresh store
 * from `open` and fresh id and name prefixes, and that close every store the
 * test opened and clean up after it. The helpers are bound arrow functions,
 * so a topic may destructure them once and use them in every test.
 */
export class ContractContext {
  #backend: ContractStore | undefined;
  #store: ChatStore | undefined;
  /** Every store the test opened, closed after it. */
  #opened: ChatStore[] = [];
  /** Random per test: a prefix of ids, and a different one of names, so the two never match each other's searches. */
  #p = '';
  #np = '';

  constructor(open: () => Promise<ContractStore>) {
    beforeEach(async () => {
      this.#backend = await open();
      this.#store = this.#backend.store;
      this.#opened = [this.#store];
      this.#p = randomPrefix('I');
      this.#np = randomPrefix('N');
    });

    afterEach(async () => {
      for (const s of this.#opened) await s.close().catch(() => undefined);
      await this.#backend?.cleanup();
    });
  }

  /** The store under test: the one open() gave, or the latest reopen(). */
  get store(): ChatStore {
    if (!this.#store) throw new Error('the contract store is used outside a test');
    return this.#store;
  }

  /** This test's id prefix. */
  get p(): string {
    return this.#p;
  }

  /** This test's name prefix. */
  get np(): string {
    return this.#np;
  }

  /** Brings the backend's search index up to date, where it has a settleSearch; otherwise nothing to wait for. */
  readonly settleSearch = async (): Promise<void> => {
    await this.#backend?.settleSearch?.();
  };

  /** Whether the backend can reopen its data (the durability tests need it). */
  get canReopen(): boolean {
    return this.#backend?.reopen !== undefined;
  }

  /** Opens a new store on the same data, after the test closed `store`; it becomes `store`. */
  async reopen(): Promise<void> {
    const reopen = this.#backend?.reopen;
    if (!reopen) throw new Error('this backend has no reopen');
    this.#store = await reopen();
    this.#opened.push(this.#store);
  }

  /** Whether the backend can open a store with bounded views. */
  get canBound(): boolean {
    return this.#backend?.openBounded !== undefined;
  }

  /** A second store on the same data, its views bounded to `viewMembers` (ContractStore.openBounded); closed after the test. */
  async openBounded(viewMembers: number): Promise<ChatStore> {
    const open = this.#backend?.openBounded;
    if (!open) throw new Error('this backend has no openBounded');
    const store = await open(viewMembers);
    this.#opened.push(store);
    return store;
  }

  /** An id unique to this test. */
  readonly id = (suffix: string): string => `${this.#p}${suffix}`;

  /** Creates a conversation (the first member is its owner), expecting it to be new; returns its record. */
  readonly create = async (
    conversationId: string,
    members: string[],
    options: { kind?: 'dm' | 'group'; title?: string | null; createdAt?: number; epoch?: number } = {},
  ): Promise<ConversationRecord> => {
    const kind = options.kind ?? 'group';
    const conversation: NewConversation = {
      id: conversationId,
      kind,
      title: options.title === undefined ? (kind === 'group' ? 'a group' : null) : options.title,
      createdAt: options.createdAt ?? T0,
      members: members.map((userId, i): { userId: string; role: Role } => ({ userId, role: i === 0 ? 'owner' : 'member' })),
    };
    const { record, created } = await this.store.createConversation(conversation, options.epoch ?? 1);
    expect(created).toBe(true);
    return record;
  };

  /** Appends messages from `senders` after `lastSeq`, expecting success; returns them. */
  readonly append = async (
    conversationId: string,
    lastSeq: number,
    senders: string[],
    options: { epoch?: number; createdAt?: number } = {},
  ): Promise<ChatMessage[]> => {
    const messages = senders.map((sender, i) =>
      message(conversationId, lastSeq + 1 + i, sender, options.createdAt === undefined ? {} : { createdAt: options.createdAt + i }),
    );
    const result = await this.store.appendMessages({ conversationId, epoch: options.epoch ?? 1, expectedLastSeq: lastSeq, messages });
    expect(result).toEqual({ kind: 'appended' });
    return messages;
  };

  /** Every message of the conversation, in seq order. */
  readonly readAll = async (conversationId: string): Promise<ChatMessage[]> => {
    return this.store.readMessages(conversationId, { limit: 1000, direction: 'forward' });
  };
}

function randomPrefix(first: string): string {
  return first + Math.random().toString(36).slice(2, 10).padEnd(8, '0');
}
