import { MAX_USER_GET_IDS } from '@chat/proto/request-limits';
import type { Requester } from './members.js';
import type { User } from './types.js';

/**
 * The known users among `ids` (protocol extension user.get, docs/protocol.md
 * "Users by id"): one request per MAX_USER_GET_IDS distinct ids, in order,
 * the answers concatenated. Unknown ids are left out, so the result may be
 * shorter than `ids`; it holds each user once.
 */
export async function usersById(requester: Requester, ids: Iterable<string>): Promise<User[]> {
  const distinct = [...new Set(ids)];
  const out: User[] = [];
  for (let i = 0; i < distinct.length; i += MAX_USER_GET_IDS) {
    const { users } = await requester.request('user.get', { userIds: distinct.slice(i, i + MAX_USER_GET_IDS) });
    out.push(...users);
  }
  return out;
}
