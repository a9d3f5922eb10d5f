// A conversation's link within the app: `#c=<conversationId>` in the page's
// address. Opening the app with one (a bookmark, a shared link, a reload)
// opens that conversation once the list has it; choosing a conversation
// writes it, so a reload comes back to the same one. The hash never reaches
// the server, so the link works with any static hosting of the app.

const PREFIX = '#c=';

/** The conversation id a location hash names, or undefined when it names none. */
export function conversationOfHash(hash: string): string | undefined {
  if (!hash.startsWith(PREFIX)) return undefined;
  try {
    const id = decodeURIComponent(hash.slice(PREFIX.length));
    return id.length > 0 ? id : undefined;
  } catch {
    return undefined; // A malformed escape: no link.
  }
}

/** The hash naming `conversationId`; '' for none (the list). */
export function hashOfConversation(conversationId: string | undefined): string {
  return conversationId === undefined ? '' : PREFIX + encodeURIComponent(conversationId);
}
