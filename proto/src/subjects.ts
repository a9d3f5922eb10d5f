/**
 * Bus subject names. Only validated tokens reach a subject: user ids and
 * conversation ids match ID_PATTERN, so `.`, `*`, `>` and whitespace never do.
 */

/** Ids that may be embedded in a subject token. */
export const ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

/** Requests for conversations in shard `n`; only the shard's owner subscribes. */
export function shardSubject(shard: number): string {
  if (!Number.isInteger(shard) || shard < 0) throw new RangeError(`invalid shard ${shard}`);
  return `chat.shard.${shard}`;
}

/**
 * A conversation's events for all its members (message.new, message.updated,
 * receipt, typing), published once by its actor. A gateway subscribes while
 * it has a member of the conversation connected, and writes the event to
 * those members' sessions: one bus message per gateway, not per member.
 */
export function conversationEventsSubject(conversationId: string): string {
  if (!ID_PATTERN.test(conversationId)) throw new RangeError(`conversation id not safe for a subject: ${JSON.stringify(conversationId)}`);
  return `chat.conv.${conversationId}`;
}

/** Per-user events (conversation.updated, conversation.removed, presence) for every connected session of one user. */
export function userEventsSubject(userId: string): string {
  if (!ID_PATTERN.test(userId)) throw new RangeError(`user id not safe for a subject: ${JSON.stringify(userId)}`);
  return `chat.user.${userId}`;
}

/**
 * A new group's conversation.updated, once for all its members (the same view
 * for each: nobody has read anything yet). Every gateway subscribes: it joins
 * its connected members to the group and writes the frame to them, so a
 * 1,000-member group costs one message per gateway instead of 1,000 views of
 * 1,000 members each.
 */
export const GROUPS_CREATED_SUBJECT = 'chat.groups.created';

/** Wildcard a gateway may use to see every user's events (tests, tooling). */
export const ALL_USER_EVENTS = 'chat.user.>';

/** User-scoped reads and the directory; any actor host answers (queue group). */
export const QUERY_SUBJECT = 'chat.query';

/** Queue group shared by every actor host on QUERY_SUBJECT. */
export const QUERY_QUEUE = 'chat-query';

/** Gateways publish SessionChange (session up, down, heartbeat) here; presence instances share them (queue group). */
export const PRESENCE_SESSIONS_SUBJECT = 'chat.presence.sessions';

/**
 * Gateways publish a TypingChange here for a member's `typing`; presence
 * instances share them (queue group PRESENCE_QUEUE) and publish the `typing`
 * event on the conversation's subject.
 */
export const PRESENCE_TYPING_SUBJECT = 'chat.presence.typing';

/** PresenceQuery requests, answered with a PresenceReply by any presence instance (queue group). */
export const PRESENCE_QUERY_SUBJECT = 'chat.presence.query';

/** Queue group shared by every presence instance on PRESENCE_SESSIONS_SUBJECT, PRESENCE_TYPING_SUBJECT and PRESENCE_QUERY_SUBJECT. */
export const PRESENCE_QUEUE = 'chat-presence';

/**
 * The presence service asks every gateway for an immediate heartbeat here (empty
 * payload) when its backend recovers, e.g. a Redis that restarted empty: presence
 * is then whole again at once instead of within one heartbeat interval.
 */
export const PRESENCE_RESYNC_SUBJECT = 'chat.presence.resync';

/** The presence service publishes a UserPresence here each time a user goes online or offline. */
export const PRESENCE_CHANGES_SUBJECT = 'chat.presence.changes';

/**
 * Queue group of the presence fan-out (presence service instances) on
 * PRESENCE_CHANGES_SUBJECT: each change is turned into `presence` events once.
 */
export const PRESENCE_FANOUT_QUEUE = 'chat-presence-fanout';


/**
 * Change notices (ChangeNotice) of the conversations in shard `n`, published
 * by their actor host after each acknowledged message write when an external
 * search index is kept (SEARCH=postgres); stored in the JetStream stream
 * CHAT_CHANGES and followed by the `chat indexer`.
 */
export function changesSubject(shard: number): string {
  if (!Number.isInteger(shard) || shard < 0) throw new RangeError(`invalid shard ${shard}`);
  return `chat.changes.${shard}`;
}

/** Every shard's change notices: the subjects of the CHAT_CHANGES stream. */
export const ALL_CHANGES = 'chat.changes.>';
