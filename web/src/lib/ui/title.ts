/** The document title's base, as index.html has it. */
export const APP_TITLE = 'Chat';

/**
 * The document title for `unread` unread messages in all: "(3) Chat", or
 * the bare title when there are none. Counts above 99 show as "99+", so a
 * busy group does not push the name out of a narrow browser tab.
 */
export function titleWithUnread(unread: number, base = APP_TITLE): string {
  if (!(unread > 0)) return base;
  return `(${unread > 99 ? '99+' : Math.floor(unread)}) ${base}`;
}

/** The unread messages of every conversation, summed. */
export function totalUnread(conversations: readonly { unread: number }[]): number {
  let n = 0;
  for (const c of conversations) n += Math.max(0, c.unread);
  return n;
}
