import { readHead, readMembers } from './scylla-reads.js';
import { type CqlClient, ScyllaSession, mapLimit, writeTimestamp } from './scylla-session.js';
import { summaryRoles, summaryStatements, toSummary } from './scylla-summary.js';

// The member summaries (migration 0009) of conversations that predate them.
// `chat migrate` runs this after applying the migrations, every time: a
// conversation a build of schema version 9 wrote is skipped after two point
// reads; one from before is counted once. Readers never depend on it for
// correctness (a conversation without a usable summary is read whole), only
// for cost. DESIGN.md, "Bounded views", says why here and not at store open.

/** Conversations listed per page of the scan, and counted at once. */
const PAGE = 200;
const IN_FLIGHT = 8;

/** What one backfill did. */
export interface BackfillOutcome {
  /** Conversations looked at. */
  scanned: number;
  /** Conversations whose summary was (re)written: none yet, or a backfilled one the head's change_seq has moved past. */
  counted: number;
}

/**
 * Writes the member summary of every conversation that has no usable one:
 * the count, owner and admins from one read of its members, marked with the
 * head's change_seq read before them, so that readers stop trusting it as
 * soon as anything changes the conversation (a host of the previous build
 * may change its membership without keeping the summary). A summary the
 * owning actor wrote (no mark) is never touched. Idempotent; a second run
 * recounts only the conversations changed since the first.
 */
export async function backfillMemberSummaries(client: CqlClient, onPage?: (progress: BackfillOutcome) => void): Promise<BackfillOutcome> {
  const s = new ScyllaSession(client);
  const outcome: BackfillOutcome = { scanned: 0, counted: 0 };
  let after: string | undefined;
  for (;;) {
    const rows = after === undefined ? await s.rows('firstConversationIds', [PAGE]) : await s.rows('conversationIdsAfter', [after, PAGE]);
    if (rows.length === 0) return outcome;
    const ids = rows.map((r) => r['id'] as string);
    const done = await mapLimit(ids, IN_FLIGHT, (id) => countOne(s, id));
    outcome.scanned += ids.length;
    outcome.counted += done.filter(Boolean).length;
    onPage?.({ ...outcome });
    after = ids[ids.length - 1];
  }
}

/** Counts one conversation if its summary is missing or stale; whether it wrote. */
async function countOne(s: ScyllaSession, conversationId: string): Promise<boolean> {
  // Before the reads: an owner's summary written after them wins over ours.
  const ts = writeTimestamp();
  const [head, stored] = await Promise.all([readHead(s, conversationId), s.allRows('getSummary', [conversationId])]);
  if (!head) return false;
  // Usable already: the owner's (never touched) or an earlier run's that nothing has changed since.
  if (toSummary(stored, head)) return false;
  const members = await readMembers(s, conversationId);
  const final = new Map(members.map((m) => [m.userId, { role: m.role }]));
  await s.loggedBatch(summaryStatements(conversationId, final, summaryRoles(stored), head.changeSeq), ts);
  return true;
}
