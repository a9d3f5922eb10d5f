/** A piece of a search snippet: plain text, or a matched (highlighted) part. */
export interface SnippetPart {
  text: string;
  hit: boolean;
}

/**
 * Splits a message.search snippet at its highlight ranges (UTF-16 offsets,
 * end exclusive), so the UI renders each part as text, marking the hits.
 * Ranges out of order, overlapping or out of bounds are clamped or skipped:
 * the server's ranges are trusted for display only, never as markup.
 */
export function snippetParts(snippet: string, highlights: readonly { start: number; end: number }[]): SnippetPart[] {
  const parts: SnippetPart[] = [];
  let at = 0;
  for (const r of [...highlights].sort((a, b) => a.start - b.start)) {
    const start = Math.max(at, Math.min(r.start, snippet.length));
    const end = Math.min(Math.max(r.end, start), snippet.length);
    if (end <= start) continue;
    if (start > at) parts.push({ text: snippet.slice(at, start), hit: false });
    parts.push({ text: snippet.slice(start, end), hit: true });
    at = end;
  }
  if (at < snippet.length) parts.push({ text: snippet.slice(at), hit: false });
  return parts;
}
