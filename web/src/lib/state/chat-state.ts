import type { Attachment, Conversation, Member, Message, PresenceInfo, SyncResult, User } from '@chat/client';
import { MemberPages } from './member-pages.js';
import { MessageLog } from './message-log.js';
import { ReceiptBook } from './receipts.js';
import { TypingBook } from './typing.js';

/** A message this client sent and the server has not confirmed yet. */
export interface PendingSend {
  clientMsgId: string;
  conversationId: string;
  body: string;
  attachments: Attachment[];
  createdAt: number;
  /** The seq this message replies to (a quote shows above it). */
  replyTo?: number;
  /** The thread root it replies in (it shows in that thread, not in the conversation). */
  threadRoot?: number;
  /** Mentioned user ids, '@all' or '@here'. */
  mentions?: string[];
  /** `sending` until a reply; `failed` after an error reply (offer a retry). */
  status: 'sending' | 'failed';
  error?: string;
}

/** What a sync reply leaves for the client to fetch with `message.history`. */
export interface GapToFill {
  conversationId: string;
  after: number;
  before: number;
}

/** A change notice: a new object on every change, so any store consumer re-renders. */
export interface ChatSnapshot {
  state: ChatState;
  version: number;
}

/**
 * Everything the client knows about the signed-in user's chats, with no I/O:
 * conversations, the messages of each (deduped by seq), the sends awaiting
 * confirmation (keyed by clientMsgId), receipts, typing and presence. The
 * client feeds it replies and events; views read it and subscribe to hear
 * about changes. Every method that changes something notifies once.
 */
export class ChatState {
  me: User | undefined;
  readonly #conversations = new Map<string, Conversation>();
  readonly #logs = new Map<string, MessageLog>();
  readonly #pending = new Map<string, PendingSend>();
  /** Thread replies loaded with `message.thread`, per `conversationId/root` (see threadMessages). */
  readonly #threads = new Map<string, Map<number, Message>>();
  readonly #names = new Map<string, string>();
  #onUnknownName: ((userId: string) => void) | undefined;
  /** Ids of the users known to be bots (from `bot: true` in user objects), for the badge. */
  readonly #bots = new Set<string>();
  readonly #presence = new Map<string, PresenceInfo>();
  readonly receipts = new ReceiptBook();
  readonly typing: TypingBook;
  /** Members of big groups paged in beyond their views' bounded lists (member-pages.ts). */
  readonly #memberPages = new MemberPages();
  readonly #subscribers = new Set<(s: ChatSnapshot) => void>();
  #version = 0;

  constructor(now: () => number = Date.now) {
    this.typing = new TypingBook(now);
  }

  // --- reading ---------------------------------------------------------

  subscribe(run: (s: ChatSnapshot) => void): () => void {
    this.#subscribers.add(run);
    run({ state: this, version: this.#version });
    return () => {
      this.#subscribers.delete(run);
    };
  }

  conversation(id: string): Conversation | undefined {
    return this.#conversations.get(id);
  }

  /** Conversations, most recent activity first. */
  conversations(): Conversation[] {
    return [...this.#conversations.values()].sort((a, b) => activity(b) - activity(a) || (a.id < b.id ? -1 : 1));
  }

  /**
   * The conversation's members as far as known: every member for a view that
   * lists them all; for a bounded one (`membersTruncated`), its list plus the
   * pages of conversation.members loaded since the last membership change.
   */
  membersOf(conversation: Conversation): Member[] {
    return this.#memberPages.known(conversation);
  }

  /** Whether a bounded view has members not paged in yet. */
  hasMoreMembers(conversation: Conversation): boolean {
    return this.#memberPages.hasMore(conversation);
  }

  /** Where the next page of members starts (undefined: none loaded yet, null: all loaded). */
  memberCursor(conversation: Conversation): string | null | undefined {
    return this.#memberPages.next(conversation);
  }

  log(conversationId: string): MessageLog {
    let log = this.#logs.get(conversationId);
    if (!log) this.#logs.set(conversationId, (log = new MessageLog()));
    return log;
  }

  /** This conversation's unconfirmed sends, oldest first. */
  pendingIn(conversationId: string): PendingSend[] {
    return [...this.#pending.values()].filter((p) => p.conversationId === conversationId).sort((a, b) => a.createdAt - b.createdAt);
  }

  pending(clientMsgId: string): PendingSend | undefined {
    return this.#pending.get(clientMsgId);
  }

  /** Every unconfirmed send, sending or failed, oldest first (what the outbox keeps). */
  pendingSends(): PendingSend[] {
    return [...this.#pending.values()].sort((a, b) => a.createdAt - b.createdAt);
  }

  /** Sends still to go out (after a reconnect), oldest first. */
  sendsToRetry(): PendingSend[] {
    return [...this.#pending.values()].filter((p) => p.status === 'sending').sort((a, b) => a.createdAt - b.createdAt);
  }

  presenceOf(userId: string): PresenceInfo | undefined {
    return this.#presence.get(userId);
  }

  /** The user's display name; the id itself while none is known (and the unknown-name listener hears of it). */
  nameOf(userId: string): string {
    const name = this.#names.get(userId);
    if (name !== undefined) return name;
    this.#onUnknownName?.(userId);
    return userId;
  }

  /**
   * Who hears of every id nameOf had no name for (the client asks the server,
   * NameResolver), so a name missing anywhere it is shown gets looked up.
   */
  onUnknownName(listener: ((userId: string) => void) | undefined): void {
    this.#onUnknownName = listener;
  }

  /** Whether the user is a bot account, as far as the user objects seen so far say. */
  isBot(userId: string): boolean {
    return this.#bots.has(userId);
  }

  hasName(userId: string): boolean {
    return this.#names.has(userId);
  }

  /** A DM's other member (undefined for groups). */
  peerOf(conversation: Conversation): string | undefined {
    if (conversation.kind !== 'dm') return undefined;
    return conversation.members.find((m) => m.userId !== this.me?.id)?.userId ?? this.me?.id;
  }

  /** What the list shows as the conversation's name. */
  titleOf(conversation: Conversation): string {
    if (conversation.title) return conversation.title;
    const peer = this.peerOf(conversation);
    return peer ? this.nameOf(peer) : 'Conversation';
  }

  /**
   * The `sync` marks: per conversation the seq to continue from (the top of
   * the unbroken run held, or the conversation's lastSeq when nothing is held:
   * older history loads on demand) and the changeSeq caught up to.
   */
  syncMarks(): { since: Record<string, number>; changesSince: Record<string, number> } {
    const since: Record<string, number> = {};
    const changesSince: Record<string, number> = {};
    for (const c of this.#conversations.values()) {
      const log = this.#logs.get(c.id);
      since[c.id] = log && log.size > 0 ? log.contiguousHigh : c.lastSeq;
      changesSince[c.id] = c.changeSeq ?? 0;
    }
    return { since, changesSince };
  }

  /** Members (not me) whose read watermark has reached `seq`. */
  seenBy(conversationId: string, seq: number): string[] {
    return this.receipts.readersOf(conversationId, seq).filter((u) => u !== this.me?.id);
  }

  // --- changing --------------------------------------------------------

  setMe(user: User): void {
    this.me = user;
    this.#names.set(user.id, user.name);
    this.#changed();
  }

  rememberUsers(users: User[]): void {
    for (const u of users) {
      this.#names.set(u.id, u.name);
      if (u.bot === true) this.#bots.add(u.id);
      else this.#bots.delete(u.id);
    }
    this.#changed();
  }

  /** Takes a Conversation object from any reply or event, keeping whatever local knowledge is newer. */
  upsertConversation(incoming: Conversation): void {
    this.#mergeConversation(incoming);
    this.#changed();
  }

  /**
   * A page of conversation.members asked for when the conversation's changeSeq
   * was `changeSeq` (a page from before a membership change is dropped). Its
   * marks feed the receipts as a view's do.
   */
  addMemberPage(conversationId: string, changeSeq: number, members: readonly Member[], next: string | null): void {
    const conversation = this.#conversations.get(conversationId);
    if (!conversation) return;
    this.#memberPages.add(conversation, changeSeq, members, next);
    for (const m of members) if (m.readSeq !== undefined) this.receipts.apply(conversationId, m.userId, m.deliveredSeq ?? m.readSeq, m.readSeq);
    this.#changed();
  }

  removeConversation(conversationId: string): void {
    this.#memberPages.forget(conversationId);
    this.#conversations.delete(conversationId);
    this.#logs.delete(conversationId);
    for (const [id, p] of this.#pending) if (p.conversationId === conversationId) this.#pending.delete(id);
    this.#changed();
  }

  /** A `message.new` (or any newly seen message): deduped, reconciled with a pending send of the same clientMsgId. */
  addMessage(message: Message): void {
    this.#addMessage(message);
    this.#changed();
  }

  /** A page of `message.history`. */
  addMessages(messages: Message[]): void {
    for (const m of messages) this.#addMessage(m);
    this.#changed();
  }

  /** A `message.updated` or the reply of an edit, delete or reaction. */
  updateMessage(message: Message): void {
    this.log(message.conversationId).update(message);
    if (message.threadRoot !== undefined) this.#threads.get(`${message.conversationId}/${message.threadRoot}`)?.set(message.seq, message);
    const c = this.#conversations.get(message.conversationId);
    if (c?.lastMessage?.seq === message.seq && (message.changeSeq ?? 0) >= (c.lastMessage.changeSeq ?? 0)) {
      this.#conversations.set(c.id, { ...c, lastMessage: message });
    }
    this.#changed();
  }

  /** A page of `message.thread`: its replies, and the root as it is now (updated if held). */
  addThreadPage(conversationId: string, root: Message, messages: Message[]): void {
    const key = `${conversationId}/${root.seq}`;
    const held = this.#threads.get(key) ?? new Map<number, Message>();
    for (const m of messages) {
      const old = held.get(m.seq);
      if (!old || (m.changeSeq ?? 0) >= (old.changeSeq ?? 0)) held.set(m.seq, m);
    }
    this.#threads.set(key, held);
    this.log(conversationId).update(root);
    this.#changed();
  }

  /** The replies of a thread this client holds (loaded pages and those in the conversation's log), ascending seq. */
  threadMessages(conversationId: string, root: number): Message[] {
    const bySeq = new Map(this.#threads.get(`${conversationId}/${root}`) ?? []);
    for (const m of this.log(conversationId).messages()) if (m.threadRoot === root) bySeq.set(m.seq, m);
    return [...bySeq.values()].sort((x, y) => x.seq - y.seq);
  }

  /** A `thread.updated`: the root's counters, if the root is held (it is read with them otherwise). */
  applyThreadUpdate(conversationId: string, root: number, threadReplies: number, threadLastAt: number): void {
    const log = this.#logs.get(conversationId);
    const held = log?.get(root);
    if (!held || (held.threadReplies ?? 0) >= threadReplies) return;
    this.#updateMessageQuietly({ ...held, threadReplies, threadLastAt });
    this.#changed();
  }

  /** Whether `message` mentions the signed-in user (by id, '@all' or '@here'; never their own message). */
  mentionsMe(message: Message): boolean {
    const me = this.me?.id;
    if (!me || message.senderId === me || !message.mentions) return false;
    return message.mentions.some((m) => m === me || m === '@all' || m === '@here');
  }

  /** A `message.delta`; false when it cannot be applied (a gap: fetch the message again). */
  applyDelta(conversationId: string, seq: number, offset: number, text: string): boolean {
    const log = this.#logs.get(conversationId);
    if (!log || log.appendText(seq, offset, text) === 'gap') return false;
    const c = this.#conversations.get(conversationId);
    const message = log.get(seq);
    if (c?.lastMessage?.seq === seq && message) this.#conversations.set(c.id, { ...c, lastMessage: message });
    this.#changed();
    return true;
  }

  /** Records a send before it goes out: it shows at once as pending. */
  addPending(send: Omit<PendingSend, 'status'>): PendingSend {
    const pending: PendingSend = { ...send, status: 'sending' };
    this.#pending.set(send.clientMsgId, pending);
    this.#changed();
    return pending;
  }

  /** The send's ack: the pending entry becomes the confirmed message (a duplicate ack carries the original). */
  confirmSend(clientMsgId: string, message: Message): void {
    this.#pending.delete(clientMsgId);
    this.#addMessage(message);
    this.#changed();
  }

  /** An error reply: the send stays visible as failed, unless the message was already confirmed another way. */
  failSend(clientMsgId: string, error: string): void {
    const p = this.#pending.get(clientMsgId);
    if (!p) return;
    this.#pending.set(clientMsgId, { ...p, status: 'failed', error });
    this.#changed();
  }

  /** The user asked to retry a failed send (same clientMsgId). */
  retrySend(clientMsgId: string): PendingSend | undefined {
    const p = this.#pending.get(clientMsgId);
    if (!p) return undefined;
    const again: PendingSend = { ...p, status: 'sending' };
    delete again.error;
    this.#pending.set(clientMsgId, again);
    this.#changed();
    return again;
  }

  discardSend(clientMsgId: string): void {
    this.#pending.delete(clientMsgId);
    this.#changed();
  }

  /**
   * Merges a `sync` reply: conversations, new messages, changed older
   * messages (`updated`). Returns the holes left to fill with history. For a
   * truncated conversation whose changed messages were cut short, the held
   * messages below the oldest one that came are dropped (they may be stale)
   * and load again as older history.
   */
  applySync(result: SyncResult): GapToFill[] {
    for (const c of result.conversations) this.#mergeConversation(c);
    for (const messages of Object.values(result.messages)) for (const m of messages) this.#addMessage(m);
    for (const [conversationId, messages] of Object.entries(result.updated ?? {})) {
      for (const m of messages) this.#updateMessageQuietly(m);
      if (result.truncated.includes(conversationId) && messages.length > 0) {
        this.log(conversationId).dropBelow(Math.min(...messages.map((m) => m.seq)));
      }
    }
    const gaps: GapToFill[] = [];
    for (const conversationId of result.truncated) {
      const gap = this.#logs.get(conversationId)?.firstGap();
      if (gap) gaps.push({ conversationId, ...gap });
    }
    this.#changed();
    return gaps;
  }

  /** A `receipt` event or the reply of our own `receipt.mark`. Watermarks only move forward. */
  applyReceipt(conversationId: string, userId: string, deliveredSeq: number, readSeq: number): void {
    const marks = this.receipts.apply(conversationId, userId, deliveredSeq, readSeq);
    const c = this.#conversations.get(conversationId);
    if (c && userId === this.me?.id && (marks.readSeq > c.readSeq || marks.deliveredSeq > c.deliveredSeq)) {
      const next = { ...c, readSeq: Math.max(c.readSeq, marks.readSeq), deliveredSeq: Math.max(c.deliveredSeq, marks.deliveredSeq) };
      next.unread = this.#countUnread(next, c);
      next.mentions = this.#countMentions(next, c);
      this.#conversations.set(c.id, next);
    }
    this.#changed();
  }

  applyTyping(conversationId: string, userId: string, active: boolean): void {
    if (userId === this.me?.id) return;
    this.typing.apply(conversationId, userId, active);
    this.#changed();
  }

  /** Drops typists whose expiry passed; notifies only if someone was dropped. */
  expireTyping(): void {
    if (this.typing.expire()) this.#changed();
  }

  applyPresence(presence: PresenceInfo[]): void {
    for (const p of presence) {
      const held = this.#presence.get(p.userId);
      // An older lastSeen is a stale report (events from different gateways can cross).
      if (held && held.online === p.online && (held.lastSeen ?? 0) > (p.lastSeen ?? 0)) continue;
      this.#presence.set(p.userId, { userId: p.userId, online: p.online, lastSeen: p.lastSeen });
    }
    this.#changed();
  }

  /** Forgets everything (sign out). */
  clear(): void {
    this.me = undefined;
    this.#conversations.clear();
    this.#logs.clear();
    this.#pending.clear();
    this.#presence.clear();
    this.receipts.clear();
    this.typing.clear();
    this.#changed();
  }

  // --- internals -------------------------------------------------------

  #updateMessageQuietly(message: Message): void {
    this.log(message.conversationId).update(message);
    const c = this.#conversations.get(message.conversationId);
    if (c?.lastMessage?.seq === message.seq) this.#conversations.set(c.id, { ...c, lastMessage: message });
  }

  #addMessage(message: Message): void {
    if (message.senderId === this.me?.id) this.#pending.delete(message.clientMsgId);
    const outcome = this.log(message.conversationId).insert(message);
    if (outcome === 'ignored') return;
    const c = this.#conversations.get(message.conversationId);
    if (!c) return;
    if (message.seq > c.lastSeq) {
      const mine = message.senderId === this.me?.id;
      this.#conversations.set(c.id, {
        ...c,
        lastSeq: message.seq,
        lastMessage: message,
        // My own message means I have read up to it.
        readSeq: mine ? message.seq : c.readSeq,
        unread: mine ? 0 : c.unread + (message.seq > c.readSeq ? 1 : 0),
        mentions: mine ? undefined : (c.mentions ?? 0) + (message.seq > c.readSeq && this.mentionsMe(message) ? 1 : 0) || undefined,
      });
    } else if (c.lastMessage?.seq === message.seq && outcome === 'replaced') {
      this.#conversations.set(c.id, { ...c, lastMessage: message });
    }
  }

  #mergeConversation(incoming: Conversation): void {
    // Views carry their members' marks (protocol extension): "Seen by" then
    // survives a reload and shows on a device that missed the receipt events.
    // A big group's view lists only some members (membersTruncated): the
    // others' marks come with receipt events and member pages (addMemberPage).
    for (const m of incoming.members) {
      if (m.readSeq !== undefined) this.receipts.apply(incoming.id, m.userId, m.deliveredSeq ?? m.readSeq, m.readSeq);
    }
    const held = this.#conversations.get(incoming.id);
    if (!held) {
      this.#conversations.set(incoming.id, incoming);
      return;
    }
    // Title, members and roles from whichever copy has seen more changes.
    const base = (incoming.changeSeq ?? 0) >= (held.changeSeq ?? 0) ? incoming : held;
    const newer = incoming.lastSeq >= held.lastSeq ? incoming : held;
    const merged: Conversation = {
      ...base,
      lastSeq: newer.lastSeq,
      lastMessage: newer.lastMessage,
      readSeq: Math.max(held.readSeq, incoming.readSeq),
      deliveredSeq: Math.max(held.deliveredSeq, incoming.deliveredSeq),
      unread: incoming.unread,
      mentions: incoming.mentions,
    };
    merged.unread = this.#countUnread(merged, incoming);
    if (merged.readSeq >= merged.lastSeq) merged.mentions = undefined;
    this.#conversations.set(incoming.id, merged);
  }

  /**
   * Unread messages of `c`: counted from the held messages when they cover
   * everything after readSeq, else estimated from `known` (a copy whose
   * unread count the server computed) by what the held messages say changed.
   */
  #countUnread(c: Conversation, known: Conversation): number {
    const log = this.#logs.get(c.id);
    const notMine = (m: Message) => m.senderId !== this.me?.id;
    if (c.readSeq >= c.lastSeq) return 0;
    if (log && log.size > 0 && log.low <= c.readSeq + 1 && log.contiguousHigh >= c.lastSeq) {
      return log.messages().filter((m) => m.seq > c.readSeq && m.seq <= c.lastSeq && notMine(m)).length;
    }
    let unread = known.unread;
    if (log) {
      for (const m of log.messages()) {
        if (m.seq > known.readSeq && m.seq <= c.readSeq && notMine(m)) unread--;
        if (m.seq > known.lastSeq && m.seq <= c.lastSeq && m.seq > c.readSeq && notMine(m)) unread++;
      }
    }
    return Math.max(0, Math.min(unread, c.lastSeq - c.readSeq));
  }

  /** Unread mentions of `c` after its readSeq moved: the held messages that mention me between the old and new mark no longer count. */
  #countMentions(c: Conversation, before: Conversation): number | undefined {
    if (c.readSeq >= c.lastSeq) return undefined;
    let n = before.mentions ?? 0;
    const log = this.#logs.get(c.id);
    if (log) for (const m of log.messages()) if (m.seq > before.readSeq && m.seq <= c.readSeq && this.mentionsMe(m)) n--;
    return n > 0 ? n : undefined;
  }

  #changed(): void {
    this.#version++;
    const snapshot = { state: this, version: this.#version };
    for (const run of [...this.#subscribers]) run(snapshot);
  }
}

function activity(c: Conversation): number {
  return c.lastMessage?.createdAt ?? c.createdAt;
}
