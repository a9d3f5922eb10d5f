import { Conversation } from '@chat/proto';

/**
 * How many of `views` (in page order) fit `maxBytes` encoded, as a reply's
 * repeated field carries them: at least one whenever there is one, so paging
 * always moves; all of them when `maxBytes` is absent or infinite. A store
 * lists that many and sets `next` after the last one it kept.
 */
export function viewsThatFit(views: readonly Conversation[], maxBytes: number | undefined): number {
  if (maxBytes === undefined || !Number.isFinite(maxBytes)) return views.length;
  let used = 0;
  for (let i = 0; i < views.length; i++) {
    // The field's tag and length prefix: at most 1 + 5 bytes.
    used += Conversation.encode(views[i]!).finish().length + 6;
    if (used > maxBytes && i > 0) return i;
  }
  return views.length;
}
