import { type Conversation, type ConversationViews, Event, MemberMarks } from '@chat/proto';

/**
 * Bytes a chunk's estimate leaves for the length prefix of the ConversationViews
 * field growing as marks are added: the empty event's prefix takes at least one
 * byte, a varint of a 32-bit length at most five.
 */
const PREFIX_GROWTH = 4;

/**
 * Splits a membership change's ConversationViews into as few events as keep
 * each one's encoded `Event` (a `conversationViews` with originReceivedAt 0)
 * within `maxEventBytes`: every chunk carries the same `shared` view and a
 * slice of `marks`, in order, so the concatenation of the chunks' marks is
 * `marks`. A gateway renders each member's conversation.updated from the
 * chunk that holds their marks, so every member gets exactly one.
 *
 * Guarantees: at least one chunk (an empty `marks` gives one chunk without
 * marks); every chunk has at least one mark when `marks` has any; a chunk of
 * more than one mark never exceeds `maxEventBytes`. A single mark whose event
 * alone is bigger still gets its own chunk (the bus refuses it, and the
 * publisher says so). When even the smallest mark does not fit beside the
 * shared view (a huge last message), splitting cannot help: the result is one
 * chunk with every mark, refused once rather than once per member.
 * `Infinity` (a bus without a limit) gives one chunk without measuring anything.
 */
export function chunkConversationViews(shared: Conversation, marks: readonly MemberMarks[], maxEventBytes: number): ConversationViews[] {
  if (maxEventBytes === Number.POSITIVE_INFINITY || marks.length <= 1) return [{ shared, marks: [...marks] }];
  const base = eventBytes({ shared, marks: [] }) + PREFIX_GROWTH;
  const sizes = marks.map(markFieldBytes);
  let total = base;
  for (const size of sizes) total += size;
  if (total <= maxEventBytes) return [{ shared, marks: [...marks] }];
  // A shared view too big for even one mark beside it (a huge last message): splitting cannot help,
  // and a chunk per member would encode that view once per member for nothing. One event, refused once.
  if (base + minOf(sizes) > maxEventBytes) return [{ shared, marks: [...marks] }];
  const chunks: ConversationViews[] = [];
  let start = 0;
  let bytes = base;
  for (let i = 0; i < marks.length; i++) {
    const size = sizes[i]!;
    if (i > start && bytes + size > maxEventBytes) {
      chunks.push({ shared, marks: marks.slice(start, i) });
      start = i;
      bytes = base;
    }
    bytes += size;
  }
  chunks.push({ shared, marks: marks.slice(start) });
  return chunks;
}

/** The encoded size of the event that carries `views`, as the publisher sends it. */
export function eventBytes(views: ConversationViews): number {
  return Event.encode({ originReceivedAt: 0, kind: { $case: 'conversationViews', value: views } }).finish().length;
}

/** What one mark adds to a ConversationViews: its field's tag, length prefix and body. */
function markFieldBytes(mark: MemberMarks): number {
  const n = MemberMarks.encode(mark).finish().length;
  return 1 + varintBytes(n) + n;
}

/** The smallest of `values`, by a loop (a spread of 100,000 would overflow the stack). */
function minOf(values: readonly number[]): number {
  let min = Number.POSITIVE_INFINITY;
  for (const v of values) if (v < min) min = v;
  return min;
}

function varintBytes(n: number): number {
  let bytes = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    bytes++;
  }
  return bytes;
}
