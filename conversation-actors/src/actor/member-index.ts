import type { ConversationRecord, MemberRecord } from '../store/store.js';

/** Keyed by the members array itself, so replacing record.members (never changing it in place) drops the stale index. */
const memberIndexes = new WeakMap<MemberRecord[], Map<string, MemberRecord>>();

/** Member lookup in O(1): groups reach 1,000 members and every send checks one. */
export function findMember(record: ConversationRecord, userId: string): MemberRecord | undefined {
  let index = memberIndexes.get(record.members);
  if (!index) {
    index = new Map(record.members.map((m) => [m.userId, m]));
    memberIndexes.set(record.members, index);
  }
  return index.get(userId);
}
