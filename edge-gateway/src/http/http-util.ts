import type { HttpResponse } from 'uWebSockets.js';

/** Marks a response aborted-aware; uWS forbids writing to an aborted one. */
export function trackAborted(res: HttpResponse): { aborted: boolean } {
  const state = { aborted: false };
  res.onAborted(() => {
    state.aborted = true;
  });
  return state;
}

/** Writes a complete response in one corked write; `closeConnection` closes the connection after it (no keep-alive). */
export function respond(
  res: HttpResponse,
  status: string,
  body: string | Uint8Array,
  contentType = 'text/plain; charset=utf-8',
  extraHeaders: Record<string, string> = {},
  closeConnection = false,
): void {
  res.cork(() => {
    res.writeStatus(status).writeHeader('Content-Type', contentType);
    for (const [k, v] of Object.entries(extraHeaders)) res.writeHeader(k, v);
    res.end(body, closeConnection);
  });
}

export function respondJson(res: HttpResponse, status: string, value: unknown): void {
  respond(res, status, JSON.stringify(value), 'application/json');
}

/** Reads a request body up to `maxBytes`; rejects past it. Call synchronously in the handler. */
export function readBody(res: HttpResponse, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.onData((chunk, isLast) => {
      size += chunk.byteLength;
      if (size > maxBytes) {
        reject(new RangeError(`body over ${maxBytes} bytes`));
        return;
      }
      // uWS neuters the chunk after this callback: copy it.
      chunks.push(Buffer.from(chunk.slice(0)));
      if (isLast) resolve(Buffer.concat(chunks));
    });
  });
}
