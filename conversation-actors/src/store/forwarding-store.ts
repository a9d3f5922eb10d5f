import type { ChatMessage, Conversation, User } from '@chat/proto';
import type {
  AppendBatch,
  AppendResult,
  BotRecord,
  ChangedMessagesQuery,
  ChatStore,
  ClientMsgKey,
  ConversationHead,
  ConversationPageQuery,
  ConversationPageResult,
  ConversationRecord,
  MemberPageQuery,
  MemberRecord,
  MemberView,
  MembershipChange,
  MessageQuery,
  MessageSearchPage,
  MessageSearchQuery,
  MessageUpdate,
  NewBot,
  NewConversation,
  ReceiptMark,
  ReceiptMarksRecord,
  OpenStream,
} from './store.js';

/**
 * A ChatStore that hands every call to another one unchanged: the base of
 * wrappers that watch or alter a few calls (WriteHealthStore, test
 * interceptors), so each overrides only those and a method added to
 * ChatStore is forwarded in one place. The optional probeWrite is not
 * forwarded: a wrapper that has one says so by defining it. settleWrites is
 * (a no-op over a store without it): it only finishes the inner store's own
 * writes; listOpenStreams too (none over a store that cannot list them).
 */
export class ForwardingStore implements ChatStore {
  constructor(protected readonly inner: ChatStore) {}

  upsertUser(user: User): Promise<void> {
    return this.inner.upsertUser(user);
  }
  getUsers(ids: readonly string[]): Promise<User[]> {
    return this.inner.getUsers(ids);
  }
  searchUsers(prefix: string, limit: number): Promise<User[]> {
    return this.inner.searchUsers(prefix, limit);
  }
  createBot(bot: NewBot): Promise<void> {
    return this.inner.createBot(bot);
  }
  listBots(): Promise<BotRecord[]> {
    return this.inner.listBots();
  }
  revokeBot(userId: string, revokedAt: number): Promise<BotRecord | null> {
    return this.inner.revokeBot(userId, revokedAt);
  }
  botByTokenHash(tokenHash: string): Promise<User | null> {
    return this.inner.botByTokenHash(tokenHash);
  }
  loadConversation(conversationId: string): Promise<ConversationRecord | null> {
    return this.inner.loadConversation(conversationId);
  }
  createConversation(conversation: NewConversation, epoch: number): Promise<{ record: ConversationRecord; created: boolean }> {
    return this.inner.createConversation(conversation, epoch);
  }
  appendMessages(batch: AppendBatch): Promise<AppendResult> {
    return this.inner.appendMessages(batch);
  }
  updateMessage(update: MessageUpdate): Promise<void> {
    return this.inner.updateMessage(update);
  }
  settleWrites(conversationId: string, epoch: number): Promise<void> {
    return this.inner.settleWrites ? this.inner.settleWrites(conversationId, epoch) : Promise.resolve();
  }
  applyMembershipChange(change: MembershipChange): Promise<void> {
    return this.inner.applyMembershipChange(change);
  }
  markReceipt(mark: ReceiptMark): Promise<ReceiptMarksRecord> {
    return this.inner.markReceipt(mark);
  }
  findByClientMsgIds(conversationId: string, keys: readonly ClientMsgKey[]): Promise<ChatMessage[]> {
    return this.inner.findByClientMsgIds(conversationId, keys);
  }
  readMessages(conversationId: string, query: MessageQuery): Promise<ChatMessage[]> {
    return this.inner.readMessages(conversationId, query);
  }
  readChangedMessages(conversationId: string, query: ChangedMessagesQuery): Promise<ChatMessage[]> {
    return this.inner.readChangedMessages(conversationId, query);
  }
  readThread(conversationId: string, root: number, query: MessageQuery): Promise<ChatMessage[]> {
    return this.inner.readThread(conversationId, root, query);
  }
  listUserConversations(userId: string, page: ConversationPageQuery): Promise<ConversationPageResult> {
    return this.inner.listUserConversations(userId, page);
  }
  userConversationHeads(userId: string): Promise<ConversationHead[]> {
    return this.inner.userConversationHeads(userId);
  }
  userConversationIds(userId: string): Promise<string[]> {
    return this.inner.userConversationIds(userId);
  }
  listConversationIds(after: string | undefined, limit: number): Promise<string[]> {
    return this.inner.listConversationIds(after, limit);
  }

  async listOpenStreams(limit: number): Promise<OpenStream[]> {
    return this.inner.listOpenStreams ? this.inner.listOpenStreams(limit) : [];
  }
  sharingAConversation(userId: string, userIds: readonly string[]): Promise<string[]> {
    return this.inner.sharingAConversation(userId, userIds);
  }
  getConversationViews(userId: string, conversationIds: readonly string[]): Promise<Conversation[]> {
    return this.inner.getConversationViews(userId, conversationIds);
  }
  getMemberViews(conversationId: string, userIds: readonly string[]): Promise<MemberView[]> {
    return this.inner.getMemberViews(conversationId, userIds);
  }
  listMembers(conversationId: string, page: MemberPageQuery): Promise<MemberRecord[]> {
    return this.inner.listMembers(conversationId, page);
  }
  searchMessages(userId: string, query: MessageSearchQuery): Promise<MessageSearchPage> {
    return this.inner.searchMessages(userId, query);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

/**
 * A ForwardingStore that passes the wrapped store's probeWrite on too, when
 * it has one (and has none otherwise): the base of wrappers that sit between
 * WriteHealthStore and a store, so the probe still reaches the store.
 */
export class ProbeForwardingStore extends ForwardingStore {
  readonly probeWrite?: () => Promise<void>;

  constructor(inner: ChatStore) {
    super(inner);
    if (inner.probeWrite) this.probeWrite = () => inner.probeWrite!();
  }
}
