import type { ChangeNotice } from '@chat/proto';
import type { ChangeFeed } from '@chat/platform';
import { StoreUnavailableError } from '../errors.js';
import { ProbeForwardingStore } from '../store/forwarding-store.js';
import type { AppendBatch, AppendResult, ChatStore, MessageUpdate } from '../store/store.js';

/**
 * A ChatStore that publishes a change notice to `feed` after each message
 * write that succeeded (appendMessages, whichever its result, and
 * updateMessage), and resolves only once the notice is stored: every write an
 * actor acknowledges has a durable notice, which is what lets the `chat
 * indexer` miss nothing. A write whose notice could not be published fails
 * with StoreUnavailableError (the feed's error as its cause) although the
 * store kept it: the actor then treats the write as of unknown outcome and
 * reloads the conversation's head, and a client's retry is answered as a
 * duplicate, which publishes the notice again. Other calls pass through
 * (probeWrite too, where the wrapped store has one).
 */
export class ChangeNoticeStore extends ProbeForwardingStore {

  constructor(inner: ChatStore, private readonly feed: ChangeFeed) {
    super(inner);
  }

  override async appendMessages(batch: AppendBatch): Promise<AppendResult> {
    const result = await this.inner.appendMessages(batch);
    const lastSeq =
      result.kind === 'appended' ? batch.expectedLastSeq + batch.messages.length : Math.max(batch.expectedLastSeq, ...result.existing.map((m) => m.seq));
    await this.#publish({ conversationId: batch.conversationId, lastSeq, changeSeq: result.kind === 'appended' ? (batch.changeSeq ?? 0) : 0 });
    return result;
  }

  override async updateMessage(update: MessageUpdate): Promise<void> {
    await this.inner.updateMessage(update);
    await this.#publish({ conversationId: update.message.conversationId, lastSeq: 0, changeSeq: update.message.changeSeq });
  }

  async #publish(notice: ChangeNotice): Promise<void> {
    try {
      await this.feed.publish(notice);
    } catch (err) {
      throw new StoreUnavailableError(`the change notice of ${notice.conversationId} could not be published; the write's outcome is unknown to the caller`, { cause: err });
    }
  }
}
