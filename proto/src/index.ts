export * from './error-codes.js';
export * from './subjects.js';
export * from './ids.js';
export * from './shards.js';
export * from './op-labels.js';
export * from './limits.js';
export * from './frames.js';
export * from './request-limits.js';
export * from './json.js';
export * from './replies.js';
export * from './view-members.js';
export type { MessageFns } from './gen/chat/v1/model.js';
export { User, Member, Attachment, UserIds, ChatMessage, Conversation, Failure, Quote } from './gen/chat/v1/model.js';
export {
  SendMessage,
  GetConversation,
  History,
  OpenDm,
  CreateGroup,
  EditMessage,
  DeleteMessage,
  ReactToMessage,
  AddMembers,
  RemoveMember,
  SetRole,
  RenameConversation,
  MemberRemoved,
  MarkReceipt,
  ReceiptMarks,
  StreamAppend,
  StreamState,
  ThreadPage,
  ListMembers,
  MemberPage,
  ActorRequest,
  SendResult,
  ConversationResult,
  HistoryResult,
  MessageResult,
  ActorReply,
} from './gen/chat/v1/actor.js';
export {
  RegisterUser,
  SearchUsers,
  ListConversations,
  Sync,
  QueryRequest,
  Done,
  UserList,
  ConversationPage,
  MessageList,
  SyncResult,
  QueryReply,
} from './gen/chat/v1/query.js';
export { ThreadUpdate } from './gen/chat/v1/event.js';
export { ChangeNotice } from './gen/chat/v1/change.js';
export { ConversationViews, Event, MemberMarks, MessageDelta, Receipt, TypingEvent } from './gen/chat/v1/event.js';
export {
  SessionRef,
  Heartbeat,
  SessionChange,
  PresenceQuery,
  UserPresence,
  PresenceList,
  PresenceReply,
  TypingChange,
} from './gen/chat/v1/presence.js';
export { API_DESCRIPTOR_SET_BASE64 } from './api-descriptor.js';
export {
  ChatApiService,
  ChatApiClient,
  type ChatApiServer,
  SendMessageRequest,
  MessageReply,
  StreamMessageRequest,
  EditMessageRequest,
  DeleteMessageRequest,
  ReactRequest,
  MarkReadRequest,
  MarkReadResponse,
  OpenDmRequest,
  ConversationReply,
  CreateGroupRequest,
  AddMembersRequest,
  RemoveMemberRequest,
  RemoveMemberResponse,
  GetConversationRequest,
  ListConversationsRequest,
  ListConversationsResponse,
  ListMembersRequest,
  ListMembersResponse,
  HistoryRequest,
  HistoryResponse,
  ThreadRequest,
  ThreadResponse,
  WatchEventsRequest,
  WatchEventsResponse,
} from './gen/chat/v1/api.js';
