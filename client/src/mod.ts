// The public surface of @chat/client: the one client of the WebSocket protocol.
export * from './types.js';
export { ProtocolSocket, type ProtocolSocketHandlers, type ReplyCallback, type SocketLike, SOCKET_OPEN, isSynthetic, toRequestError } from './protocol-socket.js';
export { Connection, type ConnectionOptions, type ConnectionStatus, tokenExpired } from './connection.js';
export { Observable, type Readable } from './observable.js';
export { type BackoffOptions, DEFAULT_BACKOFF, backoffDelay } from './backoff.js';
export { type Credentials, devLogin, websocketUrlOf } from './auth.js';
export { type Member, type MemberPage, type MemberPageArgs, type Requester, allMembers, members } from './members.js';
export { usersById } from './users.js';
// The protocol's request bounds a client pages by (no schema code comes with them).
export { DEFAULT_MEMBERS_LIMIT, MAX_PRESENCE_USER_IDS, MAX_USER_GET_IDS, USER_ID_PATTERN } from '@chat/proto/request-limits';
