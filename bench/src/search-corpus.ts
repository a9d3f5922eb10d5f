// The synthetic corpus and query mix of the search benches (sqlite-search.ts,
// pg-search.ts): the same seed gives the same conversations, messages and
// queries, so their figures compare.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Histogram } from 'hdr-histogram-js';
import type { MessageSearchPage, MessageSearchQuery } from '@chat/conversation-actors';
import { newHistogram, recordMs, summarize } from './stats.js';

/** Message `k` of the corpus, in a random conversation, after that conversation's `lastSeq` (which it moves). */
export function corpusMessage(k: number, lastSeq: number[], members: Map<string, string[]>): { conversationId: string; seq: number; senderId: string; body: string; createdAt: number } {
  const ci = pick(lastSeq.length);
  const seq = ++lastSeq[ci]!;
  const senders = members.get(conv(ci))!;
  // The body before the sender: the order the benches drew them in, so a seed gives the corpus it always gave.
  const text = body();
  return { conversationId: conv(ci), seq, senderId: senders[pick(senders.length)]!, body: text, createdAt: T0 + k };
}

/** The parseArgs options both search benches take: the corpus's size, the query mix's, and where the store lives. */
export function corpusOptions(defaultDir: string) {
  return {
    messages: { type: 'string', default: '1000000' },
    conversations: { type: 'string', default: '5000' },
    users: { type: 'string', default: '5000' },
    queries: { type: 'string', default: '3000' },
    limit: { type: 'string', default: '20' },
    dir: { type: 'string', default: defaultDir },
    keep: { type: 'boolean', default: false },
  } as const;
}

/** The numbers of corpusOptions' values. */
export function corpusSizes(o: { messages: string; conversations: string; users: string; queries: string; limit: string }) {
  return { MESSAGES: Number(o.messages), CONVERSATIONS: Number(o.conversations), USERS: Number(o.users), QUERIES: Number(o.queries), LIMIT: Number(o.limit) };
}

/**
 * The store's writer and checkpoint threads are plain .mjs files it expects
 * next to its code: copies them beside the bench's bundle; the returned
 * function removes them again.
 */
export function copyStoreWorkers(importMetaUrl: string): () => void {
  const here = path.dirname(fileURLToPath(importMetaUrl));
  const sqliteDir = path.join(here, '..', '..', 'conversation-actors', 'src', 'store', 'sqlite');
  const files = ['sqlite-writer-worker.mjs', 'sqlite-checkpoint-worker.mjs'];
  for (const f of files) fs.copyFileSync(path.join(sqliteDir, f), path.join(here, f));
  return () => {
    for (const f of files) fs.rmSync(path.join(here, f), { force: true });
  };
}

export const VOCABULARY = 30_000;
/** One user in many conversations: the widest membership filter a query gets. */
export const WHALE_CONVERSATIONS = 400;
/** createdAt of message k (in seeding order) is T0 + k. */
export const T0 = 1_700_000_000_000;

// Deterministic pseudo-random numbers (mulberry32), so runs are comparable.
let seed = 42;
export const rand = (): number => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
export const pick = (n: number): number => Math.floor(rand() * n);
/** Zipf-like rank: word 0 is the most common, as in real text. */
export const zipf = (): number => Math.floor(VOCABULARY ** rand()) - 1;
const letters = 'abcdefghijklmnopqrstuvwxyz';
export const words = Array.from({ length: VOCABULARY }, (_, i) => {
  let w = '';
  for (let n = i + 26 * 26; n > 0; n = Math.floor(n / 26)) w += letters[n % 26];
  return w;
});

export const user = (i: number): string => `u${i}`;
export const conv = (i: number): string => `g_bench${i}`;

/** Members of each conversation: 2 to 8 random users, plus user 0 (the whale) in WHALE_CONVERSATIONS of them. */
export function memberships(conversations: number, users: number): Map<string, string[]> {
  const members = new Map<string, string[]>();
  for (let i = 0; i < conversations; i++) {
    const set = new Set<string>();
    const n = 2 + pick(7);
    while (set.size < n) set.add(user(1 + pick(users - 1)));
    if (i % Math.ceil(conversations / WHALE_CONVERSATIONS) === 0) set.add(user(0));
    members.set(conv(i), [...set]);
  }
  return members;
}

/** A message body: 4 to 23 words drawn Zipf-like. */
export const body = (): string => Array.from({ length: 4 + pick(20) }, zipf).map((w) => words[w]).join(' ');

/** The query kinds measured, each a function of the random source. */
export const KINDS: Record<string, () => string> = {
  'common word': () => words[pick(10)]!,
  'mid word': () => words[100 + pick(900)]!,
  'rare word': () => words[10_000 + pick(20_000)]!,
  'two words': () => `${words[pick(200)]} ${words[pick(2000)]}`,
  'prefix (3 letters)': () => words[pick(3000)]!.slice(0, 3),
  'absent word': () => 'zzzzqx',
};

/** One line of the latency table. */
export function latencyRow(name: string, h: Histogram): string {
  const s = summarize(h);
  return `${name.padEnd(22)} n=${String(s.count).padStart(5)}  p50 ${s.p50.toFixed(2).padStart(7)} ms  p90 ${s.p90.toFixed(2).padStart(7)} ms  p99 ${s.p99.toFixed(2).padStart(7)} ms  max ${s.max.toFixed(2).padStart(7)} ms`;
}

/** Latencies of one run of the query mix: all queries, per kind, and the whale's. */
export interface QueryTimings {
  all: Histogram;
  whale: Histogram;
  perKind: Map<string, Histogram>;
  /** Hits returned in all, for the mean per query. */
  hits: number;
}

/**
 * Runs `queries` searches of the mix through `search` (50 warm-up ones first,
 * as a running server's caches would be warm), every tenth as the whale
 * (user 0, in WHALE_CONVERSATIONS conversations), the others as a random one
 * of `users`, and times each.
 */
export async function timeQueries(
  search: (userId: string, query: MessageSearchQuery) => Promise<MessageSearchPage>,
  o: { queries: number; users: number; limit: number },
): Promise<QueryTimings> {
  const t: QueryTimings = { all: newHistogram(), whale: newHistogram(), perKind: new Map(Object.keys(KINDS).map((k) => [k, newHistogram()])), hits: 0 };
  const kinds = Object.entries(KINDS);
  for (let i = 0; i < 50; i++) await search(user(1 + pick(o.users - 1)), { text: words[pick(50)]!, limit: o.limit });
  for (let i = 0; i < o.queries; i++) {
    const [kind, make] = kinds[i % kinds.length]!;
    const isWhale = i % 10 === 0;
    const who = isWhale ? user(0) : user(1 + pick(o.users - 1));
    const text = make();
    const started = performance.now();
    const page = await search(who, { text, limit: o.limit });
    const ms = performance.now() - started;
    t.hits += page.hits.length;
    recordMs(t.all, ms);
    recordMs(t.perKind.get(kind)!, ms);
    if (isWhale) recordMs(t.whale, ms);
  }
  return t;
}
