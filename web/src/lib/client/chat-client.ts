import type { Connection } from '@chat/client';
import {
  type Attachment,
  type Conversation,
  DEFAULT_MEMBERS_LIMIT,
  type HelloEvent,
  MAX_PRESENCE_USER_IDS,
  type Message,
  type OpResults,
  type Role,
  RequestError,
  type ServerEvent,
  type User,
} from '@chat/client';
import { OfflineSession } from '../offline/offline-session.js';
import type { OfflineStore } from '../offline/offline-store.js';
import { ChatState, type GapToFill } from '../state/chat-state.js';
import { TypingThrottle } from '../state/typing.js';
import { NameResolver } from './name-resolver.js';
import { sendRetryDelay } from './send-retry.js';

/** A hole bigger than this is not filled after a reconnect: the older part is dropped and loads on scroll. */
const MAX_GAP_FILL = 1_000;
const HISTORY_PAGE = 50;
/** Most messages loaded to bring a search hit into an open conversation (pages of REVEAL_PAGE). */
const MAX_REVEAL = 5_000;
const REVEAL_PAGE = 200;
const SEARCH_PAGE = 20;
/** Most pages of conversation.list read to check the conversations an offline start showed (200 each). */
const MAX_LIST_PAGES = 20;

/** One page of message.search. */
export type SearchPage = OpResults['message.search'];
export type SearchHit = SearchPage['hits'][number];

export interface ChatClientOptions {
  /** Whether the user can see the page now (read receipts wait for it). */
  isVisible?: () => boolean;
  newClientMsgId?: () => string;
  now?: () => number;
  /**
   * Where this user's outbox and last snapshot are kept (IndexedDB in the
   * browser). With it, `start` first shows what was kept, and every send is
   * written there before it goes out and deleted once acknowledged.
   */
  offline?: OfflineStore | Promise<OfflineStore>;
  /** Told when the offline store fails (the client carries on in memory). */
  onOfflineError?: (err: unknown) => void;
}

/**
 * The client's behaviour over a Connection and a ChatState: after every
 * (re)connect it syncs (since + changesSince), fills the holes sync leaves,
 * resends unconfirmed sends with their original clientMsgId and refreshes
 * presence; it applies events to the state, marks messages delivered as they
 * arrive and read while their conversation is open and visible, and offers
 * the actions the UI needs. With an offline store it first shows what was
 * kept (conversations, recent messages, unsent messages) and keeps every send
 * there until acknowledged. No UI framework here.
 */
export class ChatClient {
  readonly state: ChatState;
  #active: string | undefined;
  readonly #typing = new Map<string, TypingThrottle>();
  /** Streaming messages being read again after a delta that did not fit (conversationId/seq). */
  readonly #refetching = new Set<string>();
  readonly #o: Required<Omit<ChatClientOptions, 'offline'>>;
  /** Failures so far of sends being resent by themselves, by clientMsgId. */
  readonly #failures = new Map<string, number>();
  /**
   * Conversations whose sends go out one at a time, oldest first, because one
   * of them failed and waits to be resent: a later one must not overtake it.
   */
  readonly #retrying = new Set<string>();
  readonly #offline: ChatClientOptions['offline'];
  #session: OfflineSession | undefined;
  #stopped = false;
  /**
   * Conversations shown from the snapshot that the server has not confirmed
   * yet: `sync` does not tell which ones the user left while away, so the
   * first connect after an offline start asks conversation.list once.
   */
  #unconfirmed: Set<string> | undefined;
  /** The last send's createdAt: sends get strictly increasing ones, the order they are resent in (after a reload too). */
  #lastCreatedAt = 0;
  #typingTimer: ReturnType<typeof setInterval> | undefined;
  readonly #unsubscribe: (() => void)[] = [];
  #syncRun = 0;
  /** Names for the ids shown without one (ChatState.onUnknownName). */
  readonly #names: NameResolver;

  constructor(
    readonly connection: Connection,
    options: ChatClientOptions = {},
  ) {
    this.#o = {
      isVisible: () => typeof document === 'undefined' || document.visibilityState === 'visible',
      newClientMsgId: () => (typeof crypto !== 'undefined' && 'randomUUID' in crypto ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(36).slice(2)}`),
      now: Date.now,
      onOfflineError: () => {},
      ...options,
    };
    this.#offline = options.offline;
    this.state = new ChatState(this.#o.now);
    this.#names = new NameResolver(connection, (id) => this.state.hasName(id), (users) => this.state.rememberUsers(users));
    this.state.onUnknownName((id) => this.#names.want([id]));
    this.#unsubscribe.push(
      connection.onReady((hello) => void this.#onReady(hello)),
      connection.onEvent((ev) => this.#onEvent(ev)),
    );
  }

  /** Connects; with an offline store, after putting what it kept into the state (so an offline start shows it). */
  start(): void {
    if (!this.#offline) {
      this.connection.start();
      return;
    }
    void this.#restore().finally(() => {
      if (!this.#stopped) this.connection.start();
    });
  }

  /** Shows what the offline store kept, then keeps it current (see OfflineSession). */
  async #restore(): Promise<void> {
    const fail = this.#o.onOfflineError;
    try {
      const store = await this.#offline!;
      if (this.#stopped) return;
      const session = await OfflineSession.restore(this.state, store, fail, this.#o.now);
      if (this.#stopped) return;
      this.#session = session;
      this.#unconfirmed = new Set(session.shown);
      this.#lastCreatedAt = Math.max(this.#lastCreatedAt, session.lastCreatedAt);
      this.#unsubscribe.push(session.attach());
    } catch (err) {
      fail(err);
    }
  }

  /** Saves the snapshot now, not within the second (the page is going away). */
  async saveOffline(): Promise<void> {
    await this.#session?.flush();
  }

  stop(): void {
    this.#stopped = true;
    // Unsubscribed first (the offline session's too): clearing the state below must not empty the outbox.
    for (const off of this.#unsubscribe.splice(0)) off();
    this.state.onUnknownName(undefined);
    this.#names.stop();
    clearInterval(this.#typingTimer);
    this.connection.stop();
    this.state.clear();
  }

  /** Resolves once the current (re)connect's sync, hole filling and resends are done. */
  ready: Promise<void> = new Promise(() => {});

  // --- connection lifecycle ----------------------------------------------

  #onReady(hello: HelloEvent): Promise<void> {
    this.state.setMe(hello.user);
    const run = ++this.#syncRun;
    this.ready = (async () => {
      try {
        await this.sync();
        if (run !== this.#syncRun) return;
        await this.#dropLeftConversations();
        await this.#resendPending();
        this.#markDeliveredEverywhere();
        if (this.#active) this.markRead(this.#active);
        void this.refreshPresence();
        this.resolveNames();
      } catch (err) {
        // A dropped connection reconnects and runs all of this again.
        if (!(err instanceof RequestError && (err.code === 'disconnected' || err.code === 'offline'))) throw err;
      }
    })();
    return this.ready;
  }

  /** One `sync` from the state's marks, then the holes it reports filled (or dropped when huge). */
  async sync(): Promise<void> {
    const { since, changesSince } = this.state.syncMarks();
    const result = await this.connection.request('sync', { since, changesSince, limit: 200 });
    for (const c of result.conversations) this.#unconfirmed?.delete(c.id);
    const gaps = this.state.applySync(result);
    for (const gap of gaps) await this.#fillGap(gap);
  }

  /**
   * Checks the snapshot's conversations against conversation.list: drops
   * those it no longer has (left or removed while away) and takes the views
   * of the others, whose members' read marks may have moved meanwhile
   * without a message (sync reports only conversations with new messages or
   * changes, so "Seen by" would stay as the snapshot had it).
   */
  async #dropLeftConversations(): Promise<void> {
    const unconfirmed = this.#unconfirmed;
    if (!unconfirmed) return;
    if (unconfirmed.size === 0) {
      this.#unconfirmed = undefined;
      return;
    }
    const listed = new Set<string>();
    let before: string | undefined;
    try {
      for (let page = 0; page < MAX_LIST_PAGES; page++) {
        const { conversations, next } = await this.connection.request('conversation.list', before ? { limit: 200, before } : { limit: 200 });
        for (const c of conversations) {
          listed.add(c.id);
          if (unconfirmed.has(c.id)) this.state.upsertConversation(c);
        }
        if (next === null) {
          for (const id of unconfirmed) if (!listed.has(id)) this.state.removeConversation(id);
          break;
        }
        before = next;
      }
    } catch {
      // Asked again after the next connect; the outbox does not wait for it.
      return;
    }
    // Checked, or too many to check: either way, once.
    this.#unconfirmed = undefined;
  }

  async #fillGap(gap: GapToFill): Promise<void> {
    const log = this.state.log(gap.conversationId);
    if (gap.before - gap.after > MAX_GAP_FILL) {
      log.dropBelow(gap.before);
      this.state.addMessages([]);
      return;
    }
    let after = gap.after;
    for (;;) {
      const page = await this.connection.request('message.history', { conversationId: gap.conversationId, after, before: gap.before, limit: 200 });
      this.state.addMessages(page.messages);
      const last = page.messages.at(-1);
      if (!page.hasMore || !last) return;
      after = last.seq;
    }
  }

  /** A streaming message whose delta did not fit what we hold: read its body as it is now (the actor serves the live one). */
  async #refetchStreaming(conversationId: string, seq: number): Promise<void> {
    const key = `${conversationId}/${seq}`;
    if (this.#refetching.has(key)) return;
    this.#refetching.add(key);
    try {
      const page = await this.connection.request('message.history', { conversationId, after: seq - 1, before: seq + 1, limit: 1 });
      this.state.addMessages(page.messages);
    } catch {
      // The final message.updated carries the whole body anyway.
    } finally {
      this.#refetching.delete(key);
    }
  }

  async #resendPending(): Promise<void> {
    // A new connection (#syncRun moved on: the resend loops of the old one end): everything unsent goes now.
    this.#retrying.clear();
    // Issued oldest first, all at once: the server applies one session's sends to a conversation in the order sent.
    await Promise.all(this.state.sendsToRetry().map((p) => this.#attempt(p.clientMsgId)));
  }

  #onEvent(ev: ServerEvent): void {
    const s = this.state;
    switch (ev.ev) {
      case 'message.new': {
        s.addMessage(ev.message);
        if (ev.message.senderId !== s.me?.id) {
          if (!s.conversation(ev.message.conversationId)) void this.#fetchConversation(ev.message.conversationId);
          if (ev.message.conversationId === this.#active && this.#o.isVisible()) this.markRead(ev.message.conversationId);
          else this.#markDelivered(ev.message.conversationId);
          s.applyTyping(ev.message.conversationId, ev.message.senderId, false);
        }
        return;
      }
      case 'message.updated':
        s.updateMessage(ev.message);
        return;
      case 'thread.updated':
        s.applyThreadUpdate(ev.conversationId, ev.root, ev.threadReplies, ev.threadLastAt);
        return;
      case 'message.delta':
        if (!s.applyDelta(ev.conversationId, ev.seq, ev.offset, ev.text)) void this.#refetchStreaming(ev.conversationId, ev.seq);
        return;
      case 'receipt':
        s.applyReceipt(ev.conversationId, ev.userId, ev.deliveredSeq, ev.readSeq);
        return;
      case 'typing':
        s.applyTyping(ev.conversationId, ev.userId, ev.active);
        this.#watchTyping();
        return;
      case 'presence':
        s.applyPresence([{ userId: ev.userId, online: ev.online, lastSeen: ev.lastSeen }]);
        return;
      case 'conversation.updated':
        s.upsertConversation(ev.conversation);
        this.resolveNames();
        void this.#presenceOfNewMembers(ev.conversation);
        return;
      case 'conversation.removed':
        if (this.#active === ev.conversationId) this.#active = undefined;
        s.removeConversation(ev.conversationId);
        return;
    }
  }

  async #fetchConversation(conversationId: string): Promise<void> {
    try {
      const { conversation } = await this.connection.request('conversation.get', { conversationId });
      this.state.upsertConversation(conversation);
    } catch {
      // conversation.updated or the next sync brings it.
    }
  }

  #watchTyping(): void {
    if (this.#typingTimer !== undefined) return;
    this.#typingTimer = setInterval(() => {
      this.state.expireTyping();
      if (!this.state.typing.anyone) {
        clearInterval(this.#typingTimer);
        this.#typingTimer = undefined;
      }
    }, 1_000);
  }

  // --- receipts --------------------------------------------------------

  #markDelivered(conversationId: string): void {
    const c = this.state.conversation(conversationId);
    if (!c || c.deliveredSeq >= c.lastSeq) return;
    this.#mark(conversationId, { deliveredSeq: c.lastSeq });
  }

  #markDeliveredEverywhere(): void {
    for (const c of this.state.conversations()) this.#markDelivered(c.id);
  }

  /** Marks the conversation read up to what it holds (call while it is on screen). */
  markRead(conversationId: string): void {
    const c = this.state.conversation(conversationId);
    if (!c || !this.#o.isVisible()) return;
    const upTo = Math.max(c.lastSeq, this.state.log(conversationId).maxSeq);
    if (c.readSeq >= upTo) return;
    this.#mark(conversationId, { readSeq: upTo, deliveredSeq: upTo });
  }

  #mark(conversationId: string, marks: { deliveredSeq?: number; readSeq?: number }): void {
    const me = this.state.me?.id;
    if (!me || !this.connection.online) return;
    // Optimistic: the badge clears at once; the reply confirms (marks only move forward either way).
    const c = this.state.conversation(conversationId);
    if (c) this.state.applyReceipt(conversationId, me, marks.deliveredSeq ?? c.deliveredSeq, marks.readSeq ?? c.readSeq);
    this.connection
      .request('receipt.mark', { conversationId, ...marks })
      .then((r) => this.state.applyReceipt(conversationId, me, r.deliveredSeq, r.readSeq))
      .catch(() => {
        // The next reconnect marks again.
      });
  }

  // --- conversations ---------------------------------------------------

  get activeConversationId(): string | undefined {
    return this.#active;
  }

  /** Opens a conversation: loads its newest messages if none are held, and marks it read. */
  async open(conversationId: string | undefined): Promise<void> {
    this.#active = conversationId;
    if (!conversationId) return;
    // A big group's view lists only some members: a first page more (once), so @-mentions reach beyond them.
    const opened = this.state.conversation(conversationId);
    if (opened?.membersTruncated && this.state.memberCursor(opened) === undefined) void this.loadMembers(conversationId).catch(() => undefined);
    const log = this.state.log(conversationId);
    if (log.size === 0 && (this.state.conversation(conversationId)?.lastSeq ?? 0) > 0) {
      const page = await this.connection.request('message.history', { conversationId, limit: HISTORY_PAGE });
      this.state.addMessages(page.messages);
    }
    this.markRead(conversationId);
  }

  /** Loads the page of messages before the oldest held; resolves with how many came. */
  async loadOlder(conversationId: string, limit = HISTORY_PAGE): Promise<number> {
    const log = this.state.log(conversationId);
    if (log.size > 0 && !log.hasOlder) return 0;
    const args = log.size > 0 ? { conversationId, before: log.low, limit } : { conversationId, limit };
    const page = await this.connection.request('message.history', args);
    this.state.addMessages(page.messages);
    return page.messages.length;
  }

  /** One page of a thread (protocol extension `message.thread`): the replies before `before`, or the newest. */
  async loadThread(conversationId: string, root: number, before?: number): Promise<{ root: Message; messages: Message[]; hasMore: boolean }> {
    const page = await this.connection.request('message.thread', { conversationId, root, limit: HISTORY_PAGE, ...(before === undefined ? {} : { before }) });
    // Kept apart from the conversation's log, which holds one unbroken range of seqs: a
    // thread's replies are spread over the whole history. The root updates in place.
    this.state.addThreadPage(conversationId, page.root, page.messages);
    return page;
  }

  /**
   * Loads older history until the conversation's log holds `seq` (a quote's
   * original, a search hit): the log stays one unbroken run of messages, so
   * every page before what is held loads, REVEAL_PAGE at a time. False if it
   * does not exist, or is not reached within MAX_REVEAL messages.
   */
  async loadUntil(conversationId: string, seq: number): Promise<boolean> {
    for (let loaded = 0; ; ) {
      const log = this.state.log(conversationId);
      if (log.size > 0 && log.low <= seq) return log.get(seq) !== undefined;
      if (loaded >= MAX_REVEAL) return false;
      const added = await this.loadOlder(conversationId, REVEAL_PAGE);
      if (added === 0) return false;
      loaded += added;
    }
  }

  /** Searches the messages of the user's conversations (message.search): hits newest first, and the next page's cursor. */
  async searchMessages(query: string, before?: string): Promise<SearchPage> {
    return this.connection.request('message.search', before ? { query, before, limit: SEARCH_PAGE } : { query, limit: SEARCH_PAGE });
  }

  /** Opens a conversation with message `seq` held (see loadUntil): where a search hit leads. */
  async reveal(conversationId: string, seq: number): Promise<boolean> {
    await this.open(conversationId);
    return this.loadUntil(conversationId, seq);
  }

  /**
   * Pages in the next `limit` members of a big group (conversation.members)
   * beyond its view's bounded list, from where the last page ended (the first
   * page when none is held, or the held ones went stale with a membership
   * change), and learns their names and presence as a view's members'.
   * Resolves with whether more remain. A view that lists everyone needs none.
   */
  async loadMembers(conversationId: string, limit = DEFAULT_MEMBERS_LIMIT): Promise<boolean> {
    const conversation = this.state.conversation(conversationId);
    if (!conversation?.membersTruncated) return false;
    const after = this.state.memberCursor(conversation);
    if (after === null) return false;
    const page = await this.connection.members(conversationId, { after, limit });
    this.state.addMemberPage(conversationId, conversation.changeSeq, page.members, page.next);
    const ids = page.members.map((m) => m.userId);
    this.#names.want(ids);
    void this.#askPresence(ids.filter((id) => id !== this.state.me?.id && !this.state.presenceOf(id)));
    return page.next !== null;
  }

  async searchUsers(prefix: string): Promise<User[]> {
    const { users } = await this.connection.request('user.search', { prefix, limit: 20 });
    this.state.rememberUsers(users);
    return users;
  }

  async openDm(userId: string): Promise<Conversation> {
    return this.#conversationReply(this.connection.request('conversation.open_dm', { userId }));
  }

  async createGroup(title: string, members: string[]): Promise<Conversation> {
    return this.#conversationReply(this.connection.request('conversation.create_group', { title, members }));
  }

  async addMembers(conversationId: string, userIds: string[]): Promise<Conversation> {
    return this.#conversationReply(this.connection.request('conversation.add_members', { conversationId, userIds }));
  }

  async setRole(conversationId: string, userId: string, role: Role): Promise<Conversation> {
    return this.#conversationReply(this.connection.request('conversation.set_role', { conversationId, userId, role }));
  }

  async rename(conversationId: string, title: string): Promise<Conversation> {
    return this.#conversationReply(this.connection.request('conversation.rename', { conversationId, title }));
  }

  async removeMember(conversationId: string, userId: string): Promise<void> {
    await this.connection.request('conversation.remove_member', { conversationId, userId });
    if (userId === this.state.me?.id) this.state.removeConversation(conversationId);
  }

  async #conversationReply(reply: Promise<{ conversation: Conversation }>): Promise<Conversation> {
    const { conversation } = await reply;
    this.state.upsertConversation(conversation);
    this.resolveNames();
    void this.#presenceOfNewMembers(conversation);
    return conversation;
  }

  /**
   * Presence of members this client has none for yet: `presence` events only go to
   * users who already shared a conversation when the change happened, so a new DM
   * or group must ask once.
   */
  async #presenceOfNewMembers(conversation: Conversation): Promise<void> {
    const me = this.state.me?.id;
    await this.#askPresence(conversation.members.map((m) => m.userId).filter((id) => id !== me && !this.state.presenceOf(id)));
  }

  /** Presence of every DM peer and group member (up to the op's limit). */
  async refreshPresence(): Promise<void> {
    const ids = new Set<string>();
    for (const c of this.state.conversations()) for (const m of c.members) if (m.userId !== this.state.me?.id) ids.add(m.userId);
    await this.#askPresence([...ids]);
  }

  async #askPresence(ids: string[]): Promise<void> {
    const userIds = ids.slice(0, MAX_PRESENCE_USER_IDS);
    if (userIds.length === 0 || !this.connection.online) return;
    try {
      const { presence } = await this.connection.request('presence.get', { userIds });
      this.state.applyPresence(presence);
    } catch {
      // Presence events and the next reconnect's refresh keep it current; a failed read only leaves dots grey.
    }
  }

  /** Looks up the display names of the members the client holds without one (user.get, in the background). */
  resolveNames(): void {
    const ids: string[] = [];
    for (const c of this.state.conversations()) for (const m of c.members) ids.push(m.userId);
    this.#names.want(ids);
  }

  // --- messages --------------------------------------------------------

  /** Sends a message: it shows at once as pending, then as confirmed with its seq (or failed, with a retry). */
  send(conversationId: string, body: string, attachments: Attachment[] = [], extras: SendExtras = {}): string {
    const clientMsgId = this.#o.newClientMsgId();
    // Two sends in the same millisecond still have an order.
    const createdAt = (this.#lastCreatedAt = Math.max(this.#o.now(), this.#lastCreatedAt + 1));
    this.state.addPending({ clientMsgId, conversationId, body, attachments, createdAt, ...withoutEmpty(extras) });
    this.#typing.get(conversationId)?.stop();
    // Kept in the outbox (the state change above queued the write) before it goes out.
    if (this.#session) void this.#session.written().then(() => this.#transmit(clientMsgId));
    else this.#transmit(clientMsgId);
    return clientMsgId;
  }

  /** Sends a failed message again with its original clientMsgId (the user's Retry: a fresh count of automatic resends). */
  retry(clientMsgId: string): void {
    this.#failures.delete(clientMsgId);
    if (this.state.retrySend(clientMsgId)) this.#transmit(clientMsgId);
  }

  /** Sends a pending message, unless its conversation's sends are being resent in order (that loop takes it in turn). */
  #transmit(clientMsgId: string): void {
    const p = this.state.pending(clientMsgId);
    if (p && !this.#retrying.has(p.conversationId)) void this.#attempt(clientMsgId);
  }

  /**
   * One attempt at a pending send. Resolves with the wait before resending it
   * when it failed in a way that may pass later (and starts its conversation's
   * resend loop, if not running); a final failure marks it failed (Retry
   * shows), a dropped connection leaves it to the reconnect.
   */
  async #attempt(clientMsgId: string): Promise<number | undefined> {
    const p = this.state.pending(clientMsgId);
    if (!p || p.status !== 'sending' || !this.connection.online) return undefined; // offline: the reconnect resends it
    try {
      const { message } = await this.connection.request('message.send', {
        conversationId: p.conversationId,
        clientMsgId,
        body: p.body,
        attachments: p.attachments,
        ...withoutEmpty({ replyTo: p.replyTo, threadRoot: p.threadRoot, mentions: p.mentions }),
      });
      this.#failures.delete(clientMsgId);
      this.state.confirmSend(clientMsgId, message);
      return undefined;
    } catch (err) {
      const e = err instanceof RequestError ? err : new RequestError('internal', String(err));
      // Dropped mid-flight: stays `sending`, and the reconnect resends it under the same clientMsgId.
      if (e.code === 'disconnected' || e.code === 'offline') return undefined;
      const failures = (this.#failures.get(clientMsgId) ?? 0) + 1;
      const wait = sendRetryDelay(e, failures);
      if (wait === undefined) {
        this.#failures.delete(clientMsgId);
        this.state.failSend(clientMsgId, e.message);
      } else {
        this.#failures.set(clientMsgId, failures);
        void this.#resendInOrder(p.conversationId, wait);
      }
      return wait;
    }
  }

  /**
   * After a send of `conversationId` failed for now: waits `wait` ms, then
   * sends that conversation's pending messages one at a time, oldest first,
   * each after the one before is answered, waiting again whenever one fails
   * for now; sends made meanwhile join the queue. Ends when none is left
   * (sends go out at once again), or with the connection (the reconnect
   * resends everything).
   */
  async #resendInOrder(conversationId: string, wait: number): Promise<void> {
    if (this.#retrying.has(conversationId)) return;
    this.#retrying.add(conversationId);
    const run = this.#syncRun;
    const current = () => run === this.#syncRun && !this.#stopped;
    try {
      let delay: number | undefined = wait;
      for (;;) {
        if (delay !== undefined) await new Promise((resolve) => setTimeout(resolve, delay));
        if (!current() || !this.connection.online) return;
        const next = this.state.sendsToRetry().find((p) => p.conversationId === conversationId);
        if (!next) return;
        // Sent one at a time: a conversation's replies come in the order sent, so every send made
        // before the queue formed has had its answer by the time the queue reaches it.
        delay = await this.#attempt(next.clientMsgId);
        // Neither sent nor failed: the connection dropped, and the reconnect resends it.
        if (delay === undefined && this.state.pending(next.clientMsgId)?.status === 'sending') return;
      }
    } finally {
      if (run === this.#syncRun) this.#retrying.delete(conversationId);
    }
  }

  async react(message: Message, emoji: string): Promise<void> {
    const me = this.state.me?.id;
    const add = !(me && message.reactions[emoji]?.includes(me));
    const reply = await this.connection.request('message.react', { conversationId: message.conversationId, seq: message.seq, emoji, add });
    this.state.updateMessage(reply.message);
  }

  async edit(message: Message, body: string): Promise<void> {
    const reply = await this.connection.request('message.edit', { conversationId: message.conversationId, seq: message.seq, body });
    this.state.updateMessage(reply.message);
  }

  async delete(message: Message): Promise<void> {
    const reply = await this.connection.request('message.delete', { conversationId: message.conversationId, seq: message.seq });
    this.state.updateMessage(reply.message);
  }

  /** Call on every keystroke in the composer; `active: true` goes out at most every 3 s. */
  typing(conversationId: string, hasText: boolean): void {
    let throttle = this.#typing.get(conversationId);
    if (!throttle) {
      throttle = new TypingThrottle((active) => this.connection.notify('typing', { conversationId, active }), 3_000, this.#o.now);
      this.#typing.set(conversationId, throttle);
    }
    if (hasText) throttle.input();
    else throttle.stop();
  }
}

/** What a send may carry besides its body (protocol extensions: replies, threads, mentions). */
export interface SendExtras {
  replyTo?: number | undefined;
  threadRoot?: number | undefined;
  mentions?: string[] | undefined;
}

/** `extras` without its absent or empty fields, so an ordinary send's frame is exactly what it always was. */
function withoutEmpty(extras: SendExtras): { replyTo?: number; threadRoot?: number; mentions?: string[] } {
  const out: { replyTo?: number; threadRoot?: number; mentions?: string[] } = {};
  if (extras.replyTo !== undefined) out.replyTo = extras.replyTo;
  if (extras.threadRoot !== undefined) out.threadRoot = extras.threadRoot;
  if (extras.mentions && extras.mentions.length > 0) out.mentions = extras.mentions;
  return out;
}
