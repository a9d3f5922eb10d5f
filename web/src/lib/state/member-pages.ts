import type { Conversation, Member } from '@chat/client';

/** What has been paged in of one conversation's members, and as of which change. */
interface Loaded {
  /** The conversation's changeSeq when the first page was read: a membership change (which moves it) makes the pages stale. */
  changeSeq: number;
  members: Map<string, Member>;
  /** The cursor of the next page; null once the last page came. */
  next: string | null;
}

/**
 * The members of big groups beyond what their views list (docs/protocol.md,
 * "Member paging"): a view holds at most the server's viewMembers of them
 * (`membersTruncated`), and conversation.members pages in the rest. Pages
 * are kept per conversation until a newer view of it arrives (its changeSeq
 * moves with joins, leaves and role changes, but also with edits, reactions
 * and thread replies): they are then dropped rather than shown out of date,
 * and whoever needs them pages again. No I/O here; the client feeds it.
 */
export class MemberPages {
  readonly #loaded = new Map<string, Loaded>();

  /**
   * The members known for `conversation`: its view's, then those paged in (as
   * of the same change), each once. For a view that is not truncated, its
   * members: that is every member.
   */
  known(conversation: Conversation): Member[] {
    const loaded = this.#current(conversation);
    if (!conversation.membersTruncated || !loaded) return conversation.members;
    const listed = new Set(conversation.members.map((m) => m.userId));
    return [...conversation.members, ...[...loaded.members.values()].filter((m) => !listed.has(m.userId))];
  }

  /** Where the next page starts: undefined before the first (or once stale), null after the last. */
  next(conversation: Conversation): string | null | undefined {
    return this.#current(conversation)?.next;
  }

  /** Whether some member of a truncated view is not known yet. */
  hasMore(conversation: Conversation): boolean {
    return conversation.membersTruncated === true && this.next(conversation) !== null;
  }

  /**
   * Adds a page read at `changeSeq` (the conversation's when it was asked
   * for). A page of another change than the pages held replaces them; one
   * older than the conversation now is dropped.
   */
  add(conversation: Conversation, changeSeq: number, members: readonly Member[], next: string | null): void {
    if (changeSeq !== conversation.changeSeq) return;
    let loaded = this.#current(conversation);
    if (!loaded) this.#loaded.set(conversation.id, (loaded = { changeSeq, members: new Map(), next: null }));
    for (const m of members) loaded.members.set(m.userId, m);
    loaded.next = next;
  }

  /** Forgets a conversation's pages (the user left it). */
  forget(conversationId: string): void {
    this.#loaded.delete(conversationId);
  }

  #current(conversation: Conversation): Loaded | undefined {
    const loaded = this.#loaded.get(conversation.id);
    if (loaded && loaded.changeSeq !== conversation.changeSeq) {
      this.#loaded.delete(conversation.id);
      return undefined;
    }
    return loaded;
  }
}
