// Every statement the Scylla store runs. All are executed prepared (the
// session prepares each once per node and routes by its partition key), with
// positional parameters; none is built from data at run time.

const MESSAGE_COLUMNS =
  'conversation_id, seq, id, sender_id, client_msg_id, body, attachments, created_at, edited_at, deleted, reactions, change_seq, streaming, truncated, reply_to, thread_root, mentions';
/** What reads select: the inserted columns and a thread root's counters (never inserted: appends set them). */
const READ_COLUMNS = `${MESSAGE_COLUMNS}, thread_replies, thread_last_at`;
const HEAD_COLUMNS = 'id, kind, title, created_at, last_seq, last_activity_at, epoch, change_seq, founders';

export const CQL = {
  getUser: 'SELECT id, name FROM users WHERE id = ?',
  putUser: 'INSERT INTO users (id, name) VALUES (?, ?)',
  putUserById: 'INSERT INTO users_by_id (prefix, id_lower, id, name, name_lower) VALUES (?, ?, ?, ?, ?)',
  putUserByName: 'INSERT INTO users_by_name (prefix, name_lower, name, id) VALUES (?, ?, ?, ?)',
  // A rename only (upsertUser): one tombstone per rename, in a search partition.
  dropUserByName: 'DELETE FROM users_by_name WHERE prefix = ? AND name_lower = ? AND name = ? AND id = ?',
  searchByName: 'SELECT id, name, name_lower FROM users_by_name WHERE prefix = ? AND name_lower >= ? AND name_lower < ? LIMIT ?',
  searchById: 'SELECT id, name, name_lower FROM users_by_id WHERE prefix = ? AND id_lower >= ? AND id_lower < ? LIMIT ?',

  // Bot accounts (scylla-bots.ts): the bots partition's scope is always BOTS_SCOPE.
  getBot: 'SELECT id, token_hash, created_at, revoked_at FROM bots WHERE scope = ? AND id = ?',
  listBots: 'SELECT id, created_at, revoked_at FROM bots WHERE scope = ?',
  botsAmong: 'SELECT id FROM bots WHERE scope = ? AND id IN ?',
  putBot: 'INSERT INTO bots (scope, id, token_hash, created_at) VALUES (?, ?, ?, ?)',
  revokeBot: 'UPDATE bots SET revoked_at = ?, token_hash = null WHERE scope = ? AND id = ?',
  putBotToken: 'INSERT INTO bot_tokens (token_hash, user_id) VALUES (?, ?)',
  getBotToken: 'SELECT user_id FROM bot_tokens WHERE token_hash = ?',
  dropBotToken: 'DELETE FROM bot_tokens WHERE token_hash = ?',

  getHead: `SELECT ${HEAD_COLUMNS} FROM conversations WHERE id = ?`,
  /** Run at SERIAL consistency: sees the outcome of every completed or in-progress lightweight transaction. */
  getHeadSerial: 'SELECT last_seq, epoch FROM conversations WHERE id = ?',
  createHead: `INSERT INTO conversations (${HEAD_COLUMNS}) VALUES (?, ?, ?, ?, 0, ?, ?, 0, ?) IF NOT EXISTS`,
  /** The fence of an append: claims seqs expected+1..last for this epoch. */
  claimSeqs: 'UPDATE conversations SET last_seq = ?, last_activity_at = ?, epoch = ? WHERE id = ? IF last_seq = ? AND epoch <= ?',
  /** The same claim raising change_seq as well (thread replies moving their roots: AppendBatch.changeSeq), never lowering it. */
  claimSeqsChange:
    'UPDATE conversations SET last_seq = ?, last_activity_at = ?, epoch = ?, change_seq = ? WHERE id = ? IF last_seq = ? AND epoch <= ? AND change_seq < ?',
  raiseChange: 'UPDATE conversations SET epoch = ?, change_seq = ? WHERE id = ? IF epoch <= ? AND change_seq < ?',
  raiseChangeTitle: 'UPDATE conversations SET epoch = ?, change_seq = ?, title = ? WHERE id = ? IF epoch <= ? AND change_seq < ?',
  raiseEpoch: 'UPDATE conversations SET epoch = ? WHERE id = ? IF epoch <= ?',
  raiseEpochTitle: 'UPDATE conversations SET epoch = ?, title = ? WHERE id = ? IF epoch <= ?',

  getMembers: 'SELECT user_id, role, joined_at FROM members WHERE conversation_id = ?',
  getMember: 'SELECT user_id FROM members WHERE conversation_id = ? AND user_id = ?',
  /** listMembers: a slice of the members partition from the cursor ('' sorts before every user id). */
  memberPage: 'SELECT user_id, role, joined_at FROM members WHERE conversation_id = ? AND user_id > ? LIMIT ?',
  putMember: 'INSERT INTO members (conversation_id, user_id, role, joined_at) VALUES (?, ?, ?, ?)',
  setRole: 'UPDATE members SET role = ? WHERE conversation_id = ? AND user_id = ?',
  dropMember: 'DELETE FROM members WHERE conversation_id = ? AND user_id = ?',
  getReceipts: 'SELECT user_id, read_seq, delivered_seq FROM receipts WHERE conversation_id = ?',
  getReceipt: 'SELECT read_seq, delivered_seq FROM receipts WHERE conversation_id = ? AND user_id = ?',
  /** The receipts of a member page: the same slice of the receipts partition (its first to its last user id). */
  receiptRange: 'SELECT user_id, read_seq, delivered_seq FROM receipts WHERE conversation_id = ? AND user_id >= ? AND user_id <= ?',
  putReceipt: 'INSERT INTO receipts (conversation_id, user_id, read_seq, delivered_seq) VALUES (?, ?, ?, ?)',
  dropReceipt: 'DELETE FROM receipts WHERE conversation_id = ? AND user_id = ?',
  /** A member's row (a bounded view's viewer). */
  memberRow: 'SELECT user_id, role, joined_at FROM members WHERE conversation_id = ? AND user_id = ?',
  /** The marks of the members a bounded view lists: one partition, at most VIEW_MEMBERS clustering keys. */
  receiptsOf: 'SELECT user_id, read_seq, delivered_seq FROM receipts WHERE conversation_id = ? AND user_id IN ?',

  // member_summary (migration 0009, scylla-summary.ts): owner and admins, and the member count as a static cell.
  getSummary: 'SELECT user_id, role, member_count, backfill_change_seq FROM member_summary WHERE conversation_id = ?',
  /** The owning actor's count: clears a backfill's mark, so readers trust it whatever the head's change_seq. */
  putSummaryCount: 'UPDATE member_summary SET member_count = ?, backfill_change_seq = null WHERE conversation_id = ?',
  /** chat migrate's count of a conversation from before version 9, marked with the head's change_seq it was counted at. */
  backfillSummaryCount: 'UPDATE member_summary SET member_count = ?, backfill_change_seq = ? WHERE conversation_id = ?',
  putSummaryRole: 'INSERT INTO member_summary (conversation_id, user_id, role) VALUES (?, ?, ?)',
  dropSummaryRole: 'DELETE FROM member_summary WHERE conversation_id = ? AND user_id = ?',
  getUserConversations: 'SELECT conversation_id FROM user_conversations WHERE user_id = ?',
  // Every conversation, in partition token order (a scan, for the indexer's reconcile only).
  firstConversationIds: 'SELECT id FROM conversations LIMIT ?',
  conversationIdsAfter: 'SELECT id FROM conversations WHERE token(id) > token(?) LIMIT ?',
  putUserConversation: 'INSERT INTO user_conversations (user_id, conversation_id) VALUES (?, ?)',
  dropUserConversation: 'DELETE FROM user_conversations WHERE user_id = ? AND conversation_id = ?',

  putMessage: `INSERT INTO messages (${MESSAGE_COLUMNS}, bucket) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  updateMessage:
    'UPDATE messages SET body = ?, attachments = ?, edited_at = ?, deleted = ?, reactions = ?, change_seq = ?, streaming = ?, truncated = ? WHERE conversation_id = ? AND bucket = ? AND seq = ?',
  getMessage: `SELECT ${READ_COLUMNS} FROM messages WHERE conversation_id = ? AND bucket = ? AND seq = ?`,
  readAscending: `SELECT ${READ_COLUMNS} FROM messages WHERE conversation_id = ? AND bucket = ? AND seq >= ? AND seq <= ? LIMIT ?`,
  readDescending: `SELECT ${READ_COLUMNS} FROM messages WHERE conversation_id = ? AND bucket = ? AND seq >= ? AND seq <= ? ORDER BY seq DESC LIMIT ?`,
  /** Which seqs of a range have rows (sealing a dead owner's holes: scylla-tail.ts). */
  tailSeqs: 'SELECT seq FROM messages WHERE conversation_id = ? AND bucket = ? AND seq >= ? AND seq <= ?',
  /** Unread and mention counting reads four small columns, not the bodies. */
  unreadScan: 'SELECT seq, sender_id, deleted, mentions FROM messages WHERE conversation_id = ? AND bucket = ? AND seq >= ? AND seq <= ?',
  /** Threads (scylla-threads.ts): a reply's index entry, and its root's counters. */
  putThreadMessage: 'INSERT INTO thread_messages (conversation_id, root, seq) VALUES (?, ?, ?)',
  setThread: 'UPDATE messages SET thread_replies = ?, thread_last_at = ? WHERE conversation_id = ? AND bucket = ? AND seq = ?',
  setThreadChanged: 'UPDATE messages SET thread_replies = ?, thread_last_at = ?, change_seq = ? WHERE conversation_id = ? AND bucket = ? AND seq = ?',
  threadAscending: 'SELECT seq FROM thread_messages WHERE conversation_id = ? AND root = ? AND seq > ? AND seq < ? LIMIT ?',
  threadDescending: 'SELECT seq FROM thread_messages WHERE conversation_id = ? AND root = ? AND seq > ? AND seq < ? ORDER BY seq DESC LIMIT ?',
  putKey: 'INSERT INTO message_keys (conversation_id, sender_id, client_msg_id, seq) VALUES (?, ?, ?, ?)',
  getKey: 'SELECT seq FROM message_keys WHERE conversation_id = ? AND sender_id = ? AND client_msg_id = ?',
  putChange: 'INSERT INTO message_changes (conversation_id, bucket, change_seq, seq) VALUES (?, ?, ?, ?)',
  readChanges: 'SELECT seq FROM message_changes WHERE conversation_id = ? AND bucket = ? AND change_seq > ?',

  /** ScyllaStore.probeWrite: one cell in this store instance's partition of write_probes (expires by the table's TTL). */
  putWriteProbe: 'INSERT INTO write_probes (probe_id, probed_at) VALUES (?, ?)',

  /** ScyllaStore.listOpenStreams and the appends and updates that keep it (migration 0008). */
  putOpenStream: 'INSERT INTO open_streams (bucket, conversation_id, seq, sender_id) VALUES (?, ?, ?, ?)',
  deleteOpenStream: 'DELETE FROM open_streams WHERE bucket = ? AND conversation_id = ? AND seq = ?',
  openStreams: 'SELECT conversation_id, seq, sender_id FROM open_streams WHERE bucket = ? LIMIT ?',
} as const;

export type CqlName = keyof typeof CQL;
