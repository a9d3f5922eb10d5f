import type { AppendBatch, ChatStore, ConversationRecord, MembershipChange, MessageUpdate, NewConversation, SearchIndex } from '@chat/conversation-actors';
import { ForwardingStore, catchUp } from '@chat/conversation-actors';

/**
 * A store wrapper for tests of an external search index: remembers which
 * conversations were written through it, and settle() catches each of them
 * up into the index (what the `chat indexer` does on change notices), so a
 * test can search right after writing as with the store's own index.
 */
export class SettlingSearchStore extends ForwardingStore {
  readonly #touched = new Set<string>();

  constructor(
    inner: ChatStore,
    private readonly index: SearchIndex,
  ) {
    super(inner);
  }

  /** Applies every conversation written since the last settle to the index. */
  async settle(): Promise<void> {
    const ids = [...this.#touched];
    this.#touched.clear();
    await Promise.all(ids.map((id) => catchUp(this.inner, this.index, id)));
  }

  override async createConversation(conversation: NewConversation, epoch: number): Promise<{ record: ConversationRecord; created: boolean }> {
    this.#touched.add(conversation.id);
    return this.inner.createConversation(conversation, epoch);
  }
  override async appendMessages(batch: AppendBatch) {
    this.#touched.add(batch.conversationId);
    return this.inner.appendMessages(batch);
  }
  override async updateMessage(update: MessageUpdate): Promise<void> {
    this.#touched.add(update.message.conversationId);
    return this.inner.updateMessage(update);
  }
  override async applyMembershipChange(change: MembershipChange): Promise<void> {
    this.#touched.add(change.conversationId);
    return this.inner.applyMembershipChange(change);
  }
}
