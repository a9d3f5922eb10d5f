import { UNSET } from '../cql-codec.js';
import { protocolError } from '../cql-errors.js';

// The notations of the native protocol v4 (section 3 of native_protocol_v4.spec)
// as a client writes them: every multi-byte number is big-endian, a [string]
// is a [short] length then UTF-8, a [long string] an [int] length, [bytes] an
// [int] length (negative: null), a [value] like [bytes] but -2 means "unset".

/** A bound value as it crossed the wire: its bytes, null (length -1), or unset (length -2). */
export type WireValue = Buffer | null | typeof UNSET;

/**
 * Reads the body of a request frame front to back. Every read checks the
 * frame holds enough bytes; a short or malformed body throws the driver's
 * ResponseError with code protocolError, which the server answers as a
 * node does (an ERROR frame on the same stream, the connection kept).
 */
export class WireReader {
  private offset = 0;

  constructor(private readonly buf: Buffer) {}

  /** Bytes not read yet. */
  get remaining(): number {
    return this.buf.length - this.offset;
  }

  byte(): number {
    this.need(1, 'byte');
    return this.buf.readUInt8(this.offset++);
  }

  /** An unsigned [short]. */
  short(): number {
    this.need(2, 'short');
    const value = this.buf.readUInt16BE(this.offset);
    this.offset += 2;
    return value;
  }

  int(): number {
    this.need(4, 'int');
    const value = this.buf.readInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  /** A [long]; kept as a bigint (a write timestamp in microseconds needs 51 bits). */
  long(): bigint {
    this.need(8, 'long');
    const value = this.buf.readBigInt64BE(this.offset);
    this.offset += 8;
    return value;
  }

  string(): string {
    return this.utf8(this.short());
  }

  longString(): string {
    const length = this.int();
    if (length < 0) throw protocolError('Invalid negative length for a [long string]');
    return this.utf8(length);
  }

  /** [bytes]: null when the length is negative. */
  bytes(): Buffer | null {
    const length = this.int();
    return length < 0 ? null : this.take(length, 'bytes');
  }

  /** [short bytes] (a prepared statement id). */
  shortBytes(): Buffer {
    return this.take(this.short(), 'short bytes');
  }

  /** [value]: bytes, null (-1) or unset (-2); any other negative length is malformed. */
  value(): WireValue {
    const length = this.int();
    if (length === -1) return null;
    if (length === -2) return UNSET;
    if (length < 0) throw protocolError(`Invalid value length ${length}`);
    return this.take(length, 'value');
  }

  /** [short] n, then n [value]s. */
  values(): WireValue[] {
    const count = this.short();
    return Array.from({ length: count }, () => this.value());
  }

  stringList(): string[] {
    const count = this.short();
    return Array.from({ length: count }, () => this.string());
  }

  /** [string map]: later duplicates win, as on a node. */
  stringMap(): Map<string, string> {
    const count = this.short();
    const out = new Map<string, string>();
    for (let i = 0; i < count; i++) out.set(this.string(), this.string());
    return out;
  }

  /** [bytes map] (a custom payload): read and returned, the emulator has no use for it. */
  bytesMap(): Map<string, Buffer | null> {
    const count = this.short();
    const out = new Map<string, Buffer | null>();
    for (let i = 0; i < count; i++) out.set(this.string(), this.bytes());
    return out;
  }

  private utf8(length: number): string {
    return this.take(length, 'string').toString('utf8');
  }

  private take(length: number, what: string): Buffer {
    this.need(length, what);
    // A copy: the frame's buffer is a slice of the socket's chunk, and values outlive the request (the cluster log keeps them).
    const out = Buffer.from(this.buf.subarray(this.offset, this.offset + length));
    this.offset += length;
    return out;
  }

  private need(length: number, what: string): void {
    if (this.offset + length > this.buf.length) {
      throw protocolError(`Not enough bytes to read a ${what}: need ${length} at offset ${this.offset} of a ${this.buf.length}-byte body`);
    }
  }
}
