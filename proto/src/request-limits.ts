// The bounds of protocol requests (numbers, and the user id pattern), with no imports and no code: the
// one definition that both the server's schemas (frames.ts) and the clients
// (@chat/client, through the `@chat/proto/request-limits` subpath) read,
// without pulling the schemas into a web bundle.

/** What a user id is: what every op taking one checks, and what a client can check before asking. */
export const USER_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** Most entries one message's `mentions` may hold. */
export const MAX_MENTIONS = 50;
/** In a group with more members than this, only an owner or admin may mention '@all' or '@here'. */
export const OPEN_GROUP_MENTION_MEMBERS = 50;

/** Most users one `presence.get` may ask about (one bus request, one backend read). */
export const MAX_PRESENCE_USER_IDS = 200;

/** Most members one conversation.members page holds, and how many it holds by default. */
export const MAX_MEMBERS_LIMIT = 500;
export const DEFAULT_MEMBERS_LIMIT = 100;

/** Most user ids one `user.get` may ask about (docs/protocol.md, "Users by id"). */
export const MAX_USER_GET_IDS = 100;

/** Longest message.search query, in characters. */
export const MAX_SEARCH_QUERY_CHARS = 256;
/** Most hits one message.search page holds. */
export const MAX_SEARCH_LIMIT = 50;

/** Most different reactions (emoji) one message holds, and most one person may add to one message. */
export const MAX_REACTIONS_PER_MESSAGE = 50;
export const MAX_REACTIONS_PER_PERSON = 20;
