import type { ChangeNotice } from '@chat/proto';

/**
 * Where actor hosts say which conversations changed, for followers that keep
 * something derived from the store current (the `chat indexer`'s search
 * index). A notice carries no content: a follower reads the changes from the
 * store, so a notice delivered twice, late or out of order costs a read and
 * nothing else.
 */
export interface ChangeFeed {
  /**
   * Resolves once the notice is stored durably (a follower will get it even
   * if it is not running now). Fails with ChangeFeedUnavailableError (with
   * its cause) when that cannot be confirmed; the notice may or may not have
   * been stored then.
   */
  publish(notice: ChangeNotice): Promise<void>;
}

/** One notice as a follower got it; settle it with ack() or retry(). */
export interface DeliveredNotice {
  readonly notice: ChangeNotice;
  /** How many times it was delivered before this time (0 on the first delivery). */
  readonly redeliveries: number;
  /** Done with: never delivered to this follower's name again. */
  ack(): void;
  /** Not done: delivered again after `delayMs` (or after the ack wait if the follower dies first). */
  retry(delayMs: number): void;
  /** Still being worked on: restarts the ack wait so it is not redelivered meanwhile. */
  working(): void;
}

/**
 * Why a follower cannot vouch that every notice reached it: whatever it
 * keeps current must be rebuilt from the store as a whole (see
 * ChangeFollower.reconciled).
 */
export interface FeedLoss {
  reason:
    /** The follower's durable position did not exist (first start, or NATS lost it with its JetStream store). */
    | 'position-created'
    /** The feed dropped notices (age or size limit) that the follower had not acknowledged. */
    | 'notices-discarded'
    /** A loss found before was not reconciled yet (the follower restarted meanwhile). */
    | 'reconcile-pending';
  detail: string;
}

/** What one ChangeFollower.next() got. */
export interface ChangeBatch {
  notices: DeliveredNotice[];
  /** Set when a loss was found (reported again on every batch until reconciled() is called). */
  loss?: FeedLoss | undefined;
}

/**
 * A durable follower of a ChangeFeed: notices reach it at least once, in
 * batches, and one not acknowledged is delivered again. Its position
 * survives restarts of the follower; if the position itself, or notices it
 * had not acknowledged, were lost, it says so (FeedLoss) until told the loss
 * was dealt with, across restarts too.
 */
export interface ChangeFollower {
  /**
   * The next notices, waiting at most the follower's fetch wait for the
   * first; an empty batch when none came. Fails with
   * ChangeFeedUnavailableError when NATS cannot be reached (call again later).
   */
  next(): Promise<ChangeBatch>;
  /**
   * Says that everything the feed's notices stand for was rebuilt from the
   * store after `loss` (as a batch reported it) was reported: it is no longer
   * reported, unless a newer loss was found meanwhile (that one stays). Call
   * it only once a rebuild started after the loss was reported completed.
   */
  reconciled(loss: FeedLoss): Promise<void>;
  /** Stops fetching; notices not acknowledged are delivered again later. */
  close(): Promise<void>;
}
