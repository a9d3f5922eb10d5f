import type { ChatMessage, Conversation, User } from '@chat/proto';

/**
 * The storage boundary of the conversation actors. Backends: SQLite (embedded
 * default, ./sqlite) and ScyllaDB. Both pass the same contract suite
 * (./store-contract.ts). The actor core depends on this interface only.
 *
 * Guarantees every backend keeps:
 * - A resolved write is durable: it survives the process being killed.
 * - appendMessages is atomic: all of a batch or none of it.
 * - Fencing: a write carrying an epoch lower than the conversation's recorded
 *   epoch is refused with StaleEpochError; an append whose expectedLastSeq is
 *   not the stored lastSeq is refused with SeqConflictError. So no seq is ever
 *   stored twice, whoever writes.
 * - (conversationId, senderId, clientMsgId) is unique across restarts.
 * - Backend failures surface as StoreUnavailableError (retryable), never as
 *   a driver's own error class; a store that cannot write at all for now
 *   (disk full, read-only) as its subclass StoreCannotWriteError.
 */
export interface ChatStore {
  /** Records a user (id and display name); a later call updates the name. */
  upsertUser(user: User): Promise<void>;
  /** The known users among `ids`, in no particular order; unknown ids are left out. Bots carry `bot: true`. */
  getUsers(ids: readonly string[]): Promise<User[]>;
  /** Users whose name or id starts with `prefix`, case-insensitively, ordered by name then id. Bots carry `bot: true`. */
  searchUsers(prefix: string, limit: number): Promise<User[]>;

  /**
   * Records a bot account: a user (`bot: true` from then on, also once
   * revoked) and its one token, of which only the hash is given. The caller
   * makes the id and the token (createBotAccount in ../bots/). An id that is
   * already a user or bot is refused with ConflictError and nothing is written.
   * upsertUser never changes whether a user is a bot.
   */
  createBot(bot: NewBot): Promise<void>;
  /** Every bot account, revoked ones included, ordered by id. */
  listBots(): Promise<BotRecord[]>;
  /**
   * Revokes the bot's token: from the moment this resolves, botByTokenHash
   * no longer finds it. Idempotent: revoking again changes nothing (the first
   * revokedAt stays). Resolves with the bot as stored afterwards, or null if
   * `userId` is no bot.
   */
  revokeBot(userId: string, revokedAt: number): Promise<BotRecord | null>;
  /** The bot user (`bot: true`) whose unrevoked token has this hash, or null. */
  botByTokenHash(tokenHash: string): Promise<User | null>;

  /** A conversation's head and members, or null if it does not exist. */
  loadConversation(conversationId: string): Promise<ConversationRecord | null>;
  /**
   * Creates a conversation with its members (lastSeq 0, epoch `epoch`). If it
   * already exists, nothing is written and the existing record is returned
   * with created: false (two DMs opened at once converge on one).
   */
  createConversation(conversation: NewConversation, epoch: number): Promise<{ record: ConversationRecord; created: boolean }>;

  /**
   * Appends a batch of messages (group commit) and moves the head to the last
   * one. Messages carry consecutive seqs from expectedLastSeq + 1. If any
   * message's (senderId, clientMsgId) is already stored, nothing is written and
   * the stored originals are returned so the caller can answer them as
   * duplicates and re-sequence the rest.
   */
  appendMessages(batch: AppendBatch): Promise<AppendResult>;
  /**
   * Replaces the mutable state of a stored message (body, attachments,
   * editedAt, deleted, reactions) with `update.message`'s, matched by
   * (conversationId, seq); its id, sender, clientMsgId and createdAt never
   * change. A deleted message is stored and served with an empty body, no
   * attachments and no reactions, and stays deleted: an update that would
   * undelete it is refused with ConflictError. Fenced like appendMessages: an
   * epoch lower than the recorded one is refused with StaleEpochError, a
   * higher one is recorded. An unknown conversation or seq is refused with
   * NotFoundError. Refused updates write nothing.
   * The message's changeSeq is stored with it and, in the same write, becomes
   * the conversation's changeSeq (which is never lowered).
   */
  updateMessage(update: MessageUpdate): Promise<void>;
  /**
   * Changes a conversation's membership and title in one atomic write: removes
   * the `remove` members, inserts the `add` members as given (one already a
   * member is left as it is), sets the `roles` of present members, and the
   * title when `title` is given. Fenced like appendMessages: an epoch lower
   * than the recorded one is refused with StaleEpochError, a higher one is
   * recorded. An unknown conversation is refused with NotFoundError. Refused
   * changes write nothing. Callers (the actor) check every permission rule;
   * the store only applies the change. `changeSeq` becomes the conversation's
   * changeSeq in the same write (never lowered).
   */
  applyMembershipChange(change: MembershipChange): Promise<void>;
  /**
   * Moves a member's receipt marks forward in one cheap write: each becomes the
   * larger of the stored and the given value (absent or lower: unchanged),
   * both are capped at the conversation's lastSeq, and deliveredSeq is raised
   * to at least readSeq (reading implies delivery). Resolves with the marks as
   * stored afterwards; applying the same mark twice is harmless. Fenced: an
   * epoch lower than the recorded one is refused with StaleEpochError and
   * writes nothing. Unlike the other writes, a higher epoch is not recorded:
   * a max() update from a stale owner is the same update any owner would make,
   * so only its ability to keep writing after a newer owner wrote matters.
   * An unknown conversation or a user who is not a member: NotFoundError.
   */
  markReceipt(mark: ReceiptMark): Promise<ReceiptMarksRecord>;
  /** Stored messages matching any of the keys. */
  findByClientMsgIds(conversationId: string, keys: readonly ClientMsgKey[]): Promise<ChatMessage[]>;
  /**
   * Messages in ascending seq order. `forward`: the first `limit` with
   * after < seq < before. `backward`: the last `limit` in that range. Either
   * bound may be absent.
   */
  readMessages(conversationId: string, query: MessageQuery): Promise<ChatMessage[]>;
  /**
   * The messages with seq <= maxSeq whose changeSeq is above afterChangeSeq
   * (edited, deleted or reacted to since then, or a thread root whose counters
   * an append with `changeSeq` moved), in ascending seq order: the
   * `limit` with the highest seqs when more match. Deleted ones come as
   * readMessages serves them. A message never changed (changeSeq 0) never
   * matches, whatever afterChangeSeq. For sync's `updated` (docs/protocol.md).
   */
  readChangedMessages(conversationId: string, query: ChangedMessagesQuery): Promise<ChatMessage[]>;
  /**
   * The replies of the thread rooted at `root` (messages whose threadRoot is
   * `root`), selected and ordered as readMessages selects the conversation's.
   * Each is one read of an index plus the messages, whatever the thread's size.
   */
  readThread(conversationId: string, root: number, query: MessageQuery): Promise<ChatMessage[]>;

  /**
   * The caller's conversations, most recent activity first (ties by id), as
   * the caller sees them (read marks, unread). `before` is the opaque cursor a
   * previous page returned as `next`; `next` is null on the last page. With
   * `maxBytes`, a page holds only as many views as fit that many bytes
   * encoded (at least one; viewsThatFit), and `next` then continues after the
   * last one held, so no reply outgrows what the bus carries.
   */
  listUserConversations(userId: string, page: ConversationPageQuery): Promise<ConversationPageResult>;
  /** Every conversation the user belongs to, with its lastSeq and changeSeq (for sync). */
  userConversationHeads(userId: string): Promise<ConversationHead[]>;
  /**
   * The ids of every conversation the user belongs to, in no particular
   * order: what a gateway follows for a connecting user, and where a presence
   * change goes. One read (one partition), however many conversations.
   */
  userConversationIds(userId: string): Promise<string[]>;
  /**
   * Every conversation's id, a page at a time, for work that must visit them
   * all (the indexer's reconcile after lost change notices): at most `limit`
   * ids (1 or more) following `after`, the last id of the previous page
   * (undefined: the first page); an empty page is the end. The order is the
   * backend's own (SQLite: by id; Scylla: by partition token) but stable, so
   * paging to the end visits each conversation that existed throughout
   * exactly once; one created meanwhile may or may not be visited.
   */
  listConversationIds(after: string | undefined, limit: number): Promise<string[]>;
  /**
   * Which of `userIds` share at least one conversation with `userId` (the
   * user itself always counts), each once, in no particular order: whose
   * presence the user may see. Costs O(the candidates), whatever the size of
   * the user's contacts.
   */
  sharingAConversation(userId: string, userIds: readonly string[]): Promise<string[]>;
  /**
   * A page of a conversation's members with their roles and receipt marks
   * (conversation.members, docs/protocol.md "Member paging"): at most
   * `limit` (1 or more) whose user id sorts after `after` (undefined: from the
   * first), by ascending user id (byte order; user ids are ASCII). An unknown
   * conversation has none. The order depends on nothing that changes, so
   * paging to the end, each page after the previous page's last user id,
   * visits every member who belonged throughout exactly once, whatever
   * joins, leaves or role changes happen between pages. One read of the
   * conversation's member rows, from the cursor, whatever the group's size.
   */
  listMembers(conversationId: string, page: MemberPageQuery): Promise<MemberRecord[]>;
  /**
   * The given conversations as `userId` sees them; ones the user is not a
   * member of are left out. Like listUserConversations' views, they list
   * every member, unless the backend was opened to bound them (the
   * viewMembers option of SQLite and Scylla): then a big group's are the members proto's boundView
   * keeps, with memberCount set, and boundView leaves them as they are.
   */
  getConversationViews(userId: string, conversationIds: readonly string[]): Promise<Conversation[]>;
  /**
   * One conversation as each of `userIds` sees it (read marks, unread), from
   * one snapshot, in no particular order; users who are not members are left
   * out. Cheaper than getConversationViews per user for a big group.
   */
  getMemberViews(conversationId: string, userIds: readonly string[]): Promise<MemberView[]>;

  /**
   * Full-text search over the messages of the conversations `userId` is a
   * member of at the time of the call (a removed member finds nothing in that
   * conversation, as message.history shows them nothing), newest stored
   * first. Deleted messages are never found, edited ones by their current
   * text only, a streamed one once finished. Query syntax and snippets:
   * ./search/ (every backend tokenizes the query with searchTerms). A backend
   * without a search index refuses with SearchUnsupportedError, whatever the
   * query. `before` is the opaque cursor a previous page returned as `next`.
   */
  searchMessages(userId: string, query: MessageSearchQuery): Promise<MessageSearchPage>;

  /**
   * Where the backend can leave a write's outcome to a later call (Scylla's
   * rows owed after a claim): writes what this store still owes
   * `conversationId` under `epoch`, so that reads see it. The actor calls it
   * before reading what it will count on (thread roots' counters). Resolves
   * at once when nothing is owed; refuses like appendMessages (StaleEpochError,
   * StoreUnavailableError).
   */
  settleWrites?(conversationId: string, epoch: number): Promise<void>;

  /**
   * Where the backend keeps them (SQLite: a partial index; Scylla: the
   * open_streams table, best effort): the
   * messages still streaming (`streaming: true`) in any conversation, at most
   * `limit` (1 or more), in no particular order. A host that takes over shards
   * wakes their conversations, so a stream whose producer went away with its
   * actor still ends, truncated, after the idle time. Without it such a
   * stream ends only once its conversation is next used.
   */
  listOpenStreams?(limit: number): Promise<OpenStream[]>;

  /**
   * Where the backend has one: a write that changes no chat data, to learn
   * whether a store that could not write (StoreCannotWriteError) can again.
   * Resolves when it can; rejects with StoreCannotWriteError while it cannot.
   */
  probeWrite?(): Promise<void>;

  /** Flushes and releases resources; later calls fail. */
  close(): Promise<void>;
}

/** A message still streaming, as listOpenStreams names it. */
export interface OpenStream {
  conversationId: string;
  seq: number;
  /** Its producer: the one member who may append to it. */
  senderId: string;
}

/** What searchMessages looks for. */
export interface MessageSearchQuery {
  /** The user's words, as typed (searchTerms parses them). */
  text: string;
  /** Only this conversation (still only if the user is a member). */
  conversationId?: string | undefined;
  /** A previous page's `next`. */
  before?: string | undefined;
  limit: number;
}

/** One page of searchMessages. */
export interface MessageSearchPage {
  hits: MessageSearchHit[];
  /** The cursor of the next (older) page; null on the last page. */
  next: string | null;
}

/** A found message and the part of its body to show. */
export interface MessageSearchHit {
  message: ChatMessage;
  snippet: string;
  /** Matched ranges of `snippet`, in UTF-16 code units, `end` exclusive, ascending, not overlapping. */
  highlights: { start: number; end: number }[];
}

/** A bot account as createBot records it. */
export interface NewBot {
  id: string;
  name: string;
  /** botTokenHash of its token (@chat/platform): 64 lowercase hex digits. */
  tokenHash: string;
  createdAt: number;
}

/** A bot account as listBots and revokeBot report it (never its token or hash). */
export interface BotRecord {
  id: string;
  name: string;
  createdAt: number;
  /** When its token was revoked; null while it is valid. */
  revokedAt: number | null;
}

export type ConversationKind = 'dm' | 'group';
export type Role = 'owner' | 'admin' | 'member';

export interface MemberRecord {
  userId: string;
  role: Role;
  joinedAt: number;
  readSeq: number;
  deliveredSeq: number;
}

export interface ConversationRecord {
  id: string;
  kind: ConversationKind;
  title: string | null;
  createdAt: number;
  lastSeq: number;
  /** createdAt, or the createdAt of the last message. */
  lastActivityAt: number;
  /** The epoch of the last write; writes with a lower epoch are refused. */
  epoch: number;
  /**
   * Counts the changes to what already exists: message edits, deletes and
   * reaction changes, thread roots' counters, membership and title changes
   * (not new messages, not receipts). 0 for a new conversation. The actor allocates the next value.
   */
  changeSeq: number;
  members: MemberRecord[];
}

/** A conversation's counters as userConversationHeads reports them. */
export interface ConversationHead {
  conversationId: string;
  lastSeq: number;
  changeSeq: number;
}

export interface NewConversation {
  id: string;
  kind: ConversationKind;
  title: string | null;
  createdAt: number;
  members: { userId: string; role: Role }[];
}

export interface ClientMsgKey {
  senderId: string;
  clientMsgId: string;
}

export interface AppendBatch {
  conversationId: string;
  epoch: number;
  expectedLastSeq: number;
  /** Non-empty; seqs expectedLastSeq + 1, + 2, … in order. */
  messages: ChatMessage[];
  /**
   * The counters of the thread roots this batch's thread replies moved, as
   * they are after it (the actor, the only writer, counts). Written with the
   * messages, atomically as they are; absent or empty: none.
   */
  threads?: ThreadSummary[] | undefined;
  /**
   * With `threads`: the change position the roots are stored with in the same
   * write (their changeSeq, so readChangedMessages, and sync's `updated`,
   * carry their new counters), and the conversation's changeSeq after it
   * (never lowered). The actor allocates it as for an edit. Absent: the
   * roots' and the conversation's changeSeq are left as they are.
   */
  changeSeq?: number | undefined;
}

/** A thread root's counters: stored on the root, served as its threadReplies and threadLastAt. */
export interface ThreadSummary {
  /** The root's seq. */
  root: number;
  /** Replies the thread has had, deleted ones included. */
  replies: number;
  /** createdAt of the latest reply. */
  lastAt: number;
}

export interface MessageUpdate {
  /** The actor's fencing epoch, as for appendMessages. */
  epoch: number;
  /** The message's new state; its conversationId and seq say which message. */
  message: ChatMessage;
  /** This update ends the message's stream (finished, or deleted while streaming): it leaves listOpenStreams. */
  endsStream?: boolean | undefined;
}

/** Which members listMembers reads. */
export interface MemberPageQuery {
  /** Only user ids after this one (the previous page's last); undefined: from the first. */
  after?: string | undefined;
  limit: number;
}

/** One member's view of a conversation (getMemberViews). */
export interface MemberView {
  userId: string;
  view: Conversation;
}

/** A membership change as applyMembershipChange stores it. */
export interface MembershipChange {
  conversationId: string;
  /** The actor's fencing epoch, as for appendMessages. */
  epoch: number;
  add: MemberRecord[];
  /** User ids to remove; ones that are not members are ignored. */
  remove: string[];
  roles: { userId: string; role: Role }[];
  /** The new title; absent leaves it. */
  title?: string | undefined;
  /** The conversation's changeSeq after this change (the actor's next value). */
  changeSeq: number;
}

/** A member's receipt.mark as markReceipt stores it. */
export interface ReceiptMark {
  conversationId: string;
  userId: string;
  /** The actor's fencing epoch, as for appendMessages. */
  epoch: number;
  /** Absent: leave the stored mark. */
  deliveredSeq?: number | undefined;
  readSeq?: number | undefined;
}

/** A member's stored receipt marks. */
export interface ReceiptMarksRecord {
  deliveredSeq: number;
  readSeq: number;
}

export type AppendResult = { kind: 'appended' } | { kind: 'duplicates'; existing: ChatMessage[] };

/** What readChangedMessages selects. */
export interface ChangedMessagesQuery {
  /** Only messages whose changeSeq is above this. */
  afterChangeSeq: number;
  /** Only messages with seq <= this. */
  maxSeq: number;
  limit: number;
}

export interface MessageQuery {
  after?: number | undefined;
  before?: number | undefined;
  limit: number;
  direction: 'forward' | 'backward';
}

/** A page of listUserConversations: its length, where it starts, and the bytes its views may take. */
export interface ConversationPageQuery {
  limit: number;
  before?: string | undefined;
  maxBytes?: number | undefined;
}

export interface ConversationPageResult {
  conversations: Conversation[];
  next: string | null;
}
