import type { User } from '@chat/proto';
import { type ScyllaSession, mapLimit, stmt } from './scylla-session.js';
import { FAN_OUT } from './scylla-reads.js';

/**
 * Search partitions are keyed by the first SEARCH_PREFIX_CHARS code points of
 * the lowercased name (users_by_name) and id (users_by_id). A shorter search
 * prefix could only be served by reading every partition, so it finds nobody:
 * the Scylla backend searches from 3 characters (SQLite from 0).
 */
export const SEARCH_PREFIX_CHARS = 3;

/**
 * At most this many id matches are read per search, then ordered by name with
 * the name matches. Exact unless more ids than this share the prefix; then the
 * id matches are the first ID_MATCH_LIMIT by id, not by name.
 */
export const ID_MATCH_LIMIT = 1000;

/** The search partition of a lowercased string: its first SEARCH_PREFIX_CHARS code points. */
export function searchPartition(lower: string): string {
  return Array.from(lower).slice(0, SEARCH_PREFIX_CHARS).join('');
}

/**
 * Records the user and its two search rows in one logged batch. A rename
 * reads the old name first (login, not the message path) to drop the old
 * name's search row: one tombstone per rename.
 */
export async function upsertUser(s: ScyllaSession, user: User): Promise<void> {
  const old = await s.row('getUser', [user.id]);
  const oldName = old ? (old['name'] as string) : undefined;
  const nameLower = user.name.toLowerCase();
  const idLower = user.id.toLowerCase();
  const statements = [
    stmt('putUser', [user.id, user.name]),
    stmt('putUserById', [searchPartition(idLower), idLower, user.id, user.name, nameLower]),
    stmt('putUserByName', [searchPartition(nameLower), nameLower, user.name, user.id]),
  ];
  if (oldName !== undefined && oldName !== user.name) {
    const oldLower = oldName.toLowerCase();
    statements.push(stmt('dropUserByName', [searchPartition(oldLower), oldLower, oldName, user.id]));
  }
  await s.loggedBatch(statements);
}

/** The known users among `ids`: one point read per distinct id. */
export async function getUsers(s: ScyllaSession, ids: readonly string[]): Promise<User[]> {
  const rows = await mapLimit([...new Set(ids)], FAN_OUT, (id) => s.row('getUser', [id]));
  return rows.flatMap((r) => (r ? [{ id: r['id'] as string, name: r['name'] as string }] : []));
}

/** UTF-8 byte order (code point order), as Scylla orders text and SQLite compares it. */
function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * Users whose lowercased name or id starts with the lowercased prefix, by
 * (lowercased name, name, id): one range read in one users_by_name partition
 * and one in one users_by_id partition, merged.
 */
export async function searchUsers(s: ScyllaSession, prefix: string, limit: number): Promise<User[]> {
  const lo = prefix.toLowerCase();
  if (Array.from(lo).length < SEARCH_PREFIX_CHARS) return [];
  // U+10FFFF sorts after every code point, so [lo, hi) holds exactly the strings starting with lo.
  const hi = `${lo}\u{10FFFF}`;
  const partition = searchPartition(lo);
  const [byName, byId] = await Promise.all([
    s.rows('searchByName', [partition, lo, hi, limit]),
    s.rows('searchById', [partition, lo, hi, ID_MATCH_LIMIT]),
  ]);
  const found = new Map<string, { id: string; name: string; nameLower: string }>();
  for (const r of [...byName, ...byId]) {
    const id = r['id'] as string;
    found.set(id, { id, name: r['name'] as string, nameLower: r['name_lower'] as string });
  }
  return [...found.values()]
    .sort((a, b) => compareUtf8(a.nameLower, b.nameLower) || compareUtf8(a.name, b.name) || compareUtf8(a.id, b.id))
    .slice(0, limit)
    .map(({ id, name }) => ({ id, name }));
}
