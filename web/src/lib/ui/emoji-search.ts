/** One pickable emoji and its name. */
export interface Emoji {
  emoji: string;
  name: string;
}

/** Parses the packed "<emoji><name>|…" form of emoji-data.txt (a line break may follow a "|"). */
export function parseEmoji(packed: string): Emoji[] {
  const out: Emoji[] = [];
  for (const entry of packed.trim().split(/\|\n?/)) {
    const at = entry.search(/[a-z]/);
    if (at > 0) out.push({ emoji: entry.slice(0, at), name: entry.slice(at) });
  }
  return out;
}

/**
 * The emoji whose name matches every word of `query` (case-insensitive):
 * those where each word starts a word of the name come first, then those
 * where it only occurs inside a word; the list's own order within each. An
 * emoji typed as the query finds itself. A blank query gives them all.
 */
export function searchEmoji(all: readonly Emoji[], query: string): Emoji[] {
  const words = query.toLowerCase().trim().split(/\s+/).filter(Boolean);
  if (words.length === 0) return [...all];
  const prefix: Emoji[] = [];
  const inside: Emoji[] = [];
  for (const e of all) {
    if (e.emoji === query.trim()) {
      prefix.unshift(e);
      continue;
    }
    const nameWords = e.name.split(/[\s-]+/);
    if (words.every((w) => nameWords.some((n) => n.startsWith(w)))) prefix.push(e);
    else if (words.every((w) => e.name.includes(w))) inside.push(e);
  }
  return [...prefix, ...inside];
}

const RECENT_KEY = 'chat.emoji.recent';
/** How many recently used emoji the picker keeps. */
export const MAX_RECENT = 16;

type Store = Pick<Storage, 'getItem' | 'setItem'>;

/** The emoji this device reacted with lately, most recent first. */
export function recentEmoji(storage: Store = localStorage): string[] {
  try {
    const v: unknown = JSON.parse(storage.getItem(RECENT_KEY) ?? '[]');
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string').slice(0, MAX_RECENT) : [];
  } catch {
    return [];
  }
}

/** Puts `emoji` first in the recent list (once), keeping at most MAX_RECENT; returns the new list. */
export function useEmoji(emoji: string, storage: Store = localStorage): string[] {
  const next = [emoji, ...recentEmoji(storage).filter((e) => e !== emoji)].slice(0, MAX_RECENT);
  try {
    storage.setItem(RECENT_KEY, JSON.stringify(next));
  } catch {
    // Not persisted; the reaction itself went out.
  }
  return next;
}
