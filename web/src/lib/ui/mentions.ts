/**
 * Mentions in the composer (docs/protocol.md, "Mentions"): the `@name`
 * being typed at the caret, the members it may complete to, and the ids a
 * finished draft mentions. Pure functions, so they are tested without a DOM.
 */

/** A member the composer can complete to. */
export interface MentionCandidate {
  /** A user id, or '@all' / '@here'. */
  id: string;
  /** What the completion writes after '@'. */
  label: string;
}

export const GROUP_WIDE: readonly MentionCandidate[] = [
  { id: '@all', label: 'all' },
  { id: '@here', label: 'here' },
];

/** The `@query` ending at `caret`, with where its '@' is; undefined when the caret is not in one. */
export function mentionAt(text: string, caret: number): { start: number; query: string } | undefined {
  const m = /(^|\s)@([^\s@]{0,64})$/.exec(text.slice(0, caret));
  if (!m) return undefined;
  return { start: caret - m[2]!.length - 1, query: m[2]! };
}

/** The candidates whose label or id starts with `query` (case-insensitive), at most `limit`. */
export function matchCandidates(candidates: readonly MentionCandidate[], query: string, limit = 6): MentionCandidate[] {
  const q = query.toLowerCase();
  return candidates.filter((c) => c.label.toLowerCase().startsWith(q) || c.id.toLowerCase().startsWith(q)).slice(0, limit);
}

/** `text` with the `@query` at `start` replaced by `@label ` ; and where the caret goes after it. */
export function complete(text: string, at: { start: number; query: string }, label: string): { text: string; caret: number } {
  const end = at.start + 1 + at.query.length;
  const inserted = `@${label} `;
  return { text: text.slice(0, at.start) + inserted + text.slice(end), caret: at.start + inserted.length };
}

/**
 * The ids `body` mentions: each picked candidate whose `@label` is still in
 * it, and '@all' / '@here' typed by hand where `groupWide` allows them; each once.
 */
export function mentionedIds(body: string, picked: readonly MentionCandidate[], groupWide: boolean): string[] {
  const ids = new Set<string>();
  for (const c of picked) if (containsMention(body, c.label)) ids.add(c.id);
  if (groupWide) for (const c of GROUP_WIDE) if (containsMention(body, c.label)) ids.add(c.id);
  return [...ids];
}

function containsMention(body: string, label: string): boolean {
  let from = 0;
  for (;;) {
    const i = body.indexOf(`@${label}`, from);
    if (i < 0) return false;
    const before = i === 0 ? ' ' : body[i - 1]!;
    const after = body[i + 1 + label.length];
    if (/\s/.test(before) && (after === undefined || !/[\p{L}\p{N}_-]/u.test(after))) return true;
    from = i + 1;
  }
}
