// Framing of the native protocol v4: every message is a 9-byte header
// (version, flags, stream id, opcode, body length) and a body. TCP delivers
// a byte stream, not messages: one chunk may hold several frames, or a part
// of one (even a part of a header), so the decoder buffers across chunks.

/** The only protocol version the server speaks. */
export const PROTOCOL_VERSION = 4;
/** The version byte of a response: the direction bit set on the version. */
export const RESPONSE_VERSION = 0x80 | PROTOCOL_VERSION;
export const HEADER_BYTES = 9;
/** The largest body a node accepts (native_transport_max_frame_size, 256 MiB). */
export const MAX_BODY_BYTES = 256 * 1024 * 1024;

/** The opcodes of v4 (the driver's typings do not export them). */
export const Opcode = {
  error: 0x00,
  startup: 0x01,
  ready: 0x02,
  authenticate: 0x03,
  options: 0x05,
  supported: 0x06,
  query: 0x07,
  result: 0x08,
  prepare: 0x09,
  execute: 0x0a,
  register: 0x0b,
  event: 0x0c,
  batch: 0x0d,
  authChallenge: 0x0e,
  authResponse: 0x0f,
  authSuccess: 0x10,
} as const;

/** Header flags. */
export const FrameFlag = {
  compression: 0x01,
  tracing: 0x02,
  customPayload: 0x04,
  warning: 0x08,
} as const;

/** A request frame of protocol v4, its body complete. */
export interface Frame {
  flags: number;
  streamId: number;
  opcode: number;
  body: Buffer;
}

/** What the decoder found: a frame, or a fault after which the connection cannot be read any further. */
export type Decoded = { frame: Frame } | { fatal: { streamId: number; message: string } };

/**
 * Cuts a connection's byte stream into v4 request frames. A frame of
 * another version (the driver opens with its highest, DSE v2 = 0x42, then v5)
 * or a response frame yields one `fatal` with the stream id to answer on,
 * and the decoder stops: the header size of an unknown version is unknown,
 * so nothing after it can be framed. So does a body over MAX_BODY_BYTES.
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private header: Omit<Frame, 'body'> & { length: number } | undefined;
  private stopped = false;

  /** Adds a chunk read from the socket; returns the frames (and at most one fatal) it completed. */
  push(chunk: Buffer): Decoded[] {
    if (this.stopped || chunk.length === 0) return [];
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const out: Decoded[] = [];
    while (!this.stopped) {
      if (!this.header) {
        if (this.buffered === 0) break;
        const first = this.peek(1)[0] as number;
        if ((first & 0x7f) !== PROTOCOL_VERSION || (first & 0x80) !== 0) {
          // v1 and v2 headers carry a one-byte stream id, v3 and later two bytes, both right after version and flags.
          const idBytes = (first & 0x7f) < 3 ? 1 : 2;
          if (this.buffered < 2 + idBytes) break;
          const head = this.peek(2 + idBytes);
          const streamId = idBytes === 1 ? head.readInt8(2) : head.readInt16BE(2);
          out.push({ fatal: { streamId, message: describeBadVersion(first) } });
          this.stop();
          break;
        }
        if (this.buffered < HEADER_BYTES) break;
        const head = this.take(HEADER_BYTES);
        const length = head.readUInt32BE(5);
        const streamId = head.readInt16BE(2);
        if (length > MAX_BODY_BYTES) {
          out.push({ fatal: { streamId, message: `Request is too big: length ${length} exceeds maximum allowed length ${MAX_BODY_BYTES}.` } });
          this.stop();
          break;
        }
        this.header = { flags: head.readUInt8(1), streamId, opcode: head.readUInt8(4), length };
      }
      if (this.buffered < this.header.length) break;
      const { length, ...header } = this.header;
      out.push({ frame: { ...header, body: this.take(length) } });
      this.header = undefined;
    }
    return out;
  }

  /** The first `n` buffered bytes, not consumed. */
  private peek(n: number): Buffer {
    const first = this.chunks[0] as Buffer;
    if (first.length >= n) return first.subarray(0, n);
    return Buffer.concat(this.chunks).subarray(0, n);
  }

  /** Consumes the first `n` buffered bytes (joining chunks only when a frame spans several). */
  private take(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    let first = this.chunks[0] as Buffer;
    if (first.length < n) {
      first = Buffer.concat(this.chunks);
      this.chunks = [first];
    }
    const out = first.subarray(0, n);
    if (first.length === n) this.chunks.shift();
    else this.chunks[0] = first.subarray(n);
    this.buffered -= n;
    return out;
  }

  private stop(): void {
    this.stopped = true;
    this.chunks = [];
    this.buffered = 0;
  }
}

/** Cassandra's message, whose prefix the driver looks for before it retries with a lower version. */
function describeBadVersion(first: number): string {
  if ((first & 0x80) !== 0) return 'Invalid or unsupported protocol version: a response frame (direction bit set) was sent to the server';
  return `Invalid or unsupported protocol version (${first & 0x7f}); supported versions are (4/v4)`;
}

/**
 * A response frame: the v4 response header (version 0x84) on `streamId`,
 * then the body. Stream id -1 is the one events are pushed on.
 */
export function encodeFrame(streamId: number, opcode: number, body: Buffer, flags = 0): Buffer {
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt8(RESPONSE_VERSION, 0);
  header.writeUInt8(flags, 1);
  header.writeInt16BE(streamId, 2);
  header.writeUInt8(opcode, 4);
  header.writeUInt32BE(body.length, 5);
  return Buffer.concat([header, body]);
}
