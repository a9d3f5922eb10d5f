import type { ActorRequest } from './gen/chat/v1/actor.js';
import type { QueryRequest } from './gen/chat/v1/query.js';

type ActorOp = NonNullable<ActorRequest['op']>['$case'];
type QueryOp = NonNullable<QueryRequest['op']>['$case'];

/**
 * The `op` label metrics give an actor request: the protocol op it serves, so
 * a gateway's `chat_gateway_requests_total{op="message.send"}` and an actor
 * host's `chat_actor_requests_total{op="message.send"}` join on the same value.
 * A Record over every case: a new actor op does not compile without a label.
 */
export const ACTOR_OP_LABELS: Readonly<Record<ActorOp, string>> = {
  send: 'message.send',
  get: 'conversation.get',
  history: 'message.history',
  thread: 'message.thread',
  openDm: 'conversation.open_dm',
  createGroup: 'conversation.create_group',
  edit: 'message.edit',
  delete: 'message.delete',
  react: 'message.react',
  streamAppend: 'message.stream',
  addMembers: 'conversation.add_members',
  removeMember: 'conversation.remove_member',
  setRole: 'conversation.set_role',
  rename: 'conversation.rename',
  markReceipt: 'receipt.mark',
  members: 'conversation.members',
};

/** The `op` label of a query: its protocol op, or `internal.*` for the queries only gateways make. */
export const QUERY_OP_LABELS: Readonly<Record<QueryOp, string>> = {
  register: 'internal.register_user',
  search: 'user.search',
  list: 'conversation.list',
  sync: 'sync',
  contactsAmong: 'internal.contacts_among',
  rooms: 'internal.rooms',
  verifyBotToken: 'internal.verify_bot_token',
  searchMessages: 'message.search',
  getUsers: 'user.get',
};
