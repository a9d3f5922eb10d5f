import { BadRequestError } from '../errors.js';

/** Where a page of a user's conversations resumes: the sort key of the last row served. */
export interface Cursor {
  activity: number;
  id: string;
}

/** base64url of JSON [lastActivityAt, id]: the sort key of the last row served. */
export function encodeCursor(activity: number, id: string): string {
  return Buffer.from(JSON.stringify([activity, id])).toString('base64url');
}

/** The cursor encodeCursor wrote; anything else is refused with BadRequestError. */
export function decodeCursor(cursor: string): Cursor {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  if (Array.isArray(parsed) && parsed.length === 2) {
    const [activity, id] = parsed as unknown[];
    // Re-encoding must give the cursor back: Node's base64url decoder skips
    // junk characters, and a cursor we did not write is refused.
    if (Number.isSafeInteger(activity) && typeof id === 'string' && encodeCursor(activity as number, id) === cursor) {
      return { activity: activity as number, id };
    }
  }
  throw new BadRequestError('malformed conversation cursor');
}
