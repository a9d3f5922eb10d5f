import { GROUP_MENTIONS, MAX_MENTIONS, OPEN_GROUP_MENTION_MEMBERS } from '@chat/proto';
import type { ConversationRecord } from '../store/store.js';
import { findMember } from './member-index.js';

/**
 * The send path's check of `mentions` (docs/protocol.md, "Mentions"), from
 * the members the actor holds in memory: no store read. A mention is a
 * member's user id, or '@all' / '@here' in a group (owner/admin only in a
 * group above OPEN_GROUP_MENTION_MEMBERS members). Repeats are dropped.
 */
export type MentionCheck = { ok: true; ids: string[] } | { ok: false; code: 'bad_request' | 'forbidden'; message: string };

const GROUP_WIDE: ReadonlySet<string> = new Set(GROUP_MENTIONS);

export function checkMentions(mentions: readonly string[] | undefined, record: ConversationRecord, callerId: string): MentionCheck {
  if (!mentions || mentions.length === 0) return { ok: true, ids: [] };
  const ids = [...new Set(mentions)];
  if (ids.length > MAX_MENTIONS) return { ok: false, code: 'bad_request', message: `mentions: at most ${MAX_MENTIONS}` };
  for (const id of ids) {
    if (GROUP_WIDE.has(id)) {
      if (record.kind !== 'group') return { ok: false, code: 'bad_request', message: `mentions: ${id} is for groups` };
      const role = findMember(record, callerId)?.role;
      if (record.members.length > OPEN_GROUP_MENTION_MEMBERS && role !== 'owner' && role !== 'admin') {
        return { ok: false, code: 'forbidden', message: `mentions: only an owner or admin may use ${id} in a group of more than ${OPEN_GROUP_MENTION_MEMBERS} members` };
      }
    } else if (!findMember(record, id)) {
      return { ok: false, code: 'bad_request', message: `mentions: ${id} is not a member of this conversation` };
    }
  }
  return { ok: true, ids };
}
