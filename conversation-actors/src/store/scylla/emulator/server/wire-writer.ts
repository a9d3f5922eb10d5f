import type { DriverType } from '../cql-codec.js';

// The server's side of the notations (see wire-reader.ts): builds the body of
// a response frame. Numbers are big-endian; strings UTF-8 with their byte
// length (not their character count: a column named "é" takes 2 bytes).

const LIST = 0x0020;
const MAP = 0x0021;
const SET = 0x0022;

/**
 * Appends protocol notations to a growing body; `toBuffer()` joins them
 * once. Refuses (RangeError) a [string] longer than a [short] can count,
 * so a bad frame is never sent.
 */
export class WireWriter {
  private readonly parts: Buffer[] = [];

  byte(value: number): this {
    return this.push(Buffer.from([value & 0xff]));
  }

  /** An unsigned [short]. */
  short(value: number): this {
    const out = Buffer.alloc(2);
    out.writeUInt16BE(value);
    return this.push(out);
  }

  int(value: number): this {
    const out = Buffer.alloc(4);
    out.writeInt32BE(value);
    return this.push(out);
  }

  string(value: string): this {
    const bytes = Buffer.from(value, 'utf8');
    if (bytes.length > 0xffff) throw new RangeError(`a [string] holds at most 65535 bytes, got ${bytes.length}`);
    return this.short(bytes.length).push(bytes);
  }

  stringList(values: readonly string[]): this {
    this.short(values.length);
    for (const v of values) this.string(v);
    return this;
  }

  /** [string multimap]: what SUPPORTED answers. */
  stringMultimap(map: ReadonlyMap<string, readonly string[]>): this {
    this.short(map.size);
    for (const [key, values] of map) this.string(key).stringList(values);
    return this;
  }

  /** [bytes]: length -1 for null. */
  bytes(value: Buffer | null): this {
    if (value === null) return this.int(-1);
    return this.int(value.length).push(value);
  }

  /** [short bytes] (a prepared statement id). */
  shortBytes(value: Buffer): this {
    return this.short(value.length).push(value);
  }

  /**
   * A type [option]: its code, then for list/set the element type and for
   * map the key and value types. Other parameterised types (UDT, tuple,
   * custom) are not modelled: the emulator never stores them.
   */
  type(type: DriverType): this {
    this.short(type.code);
    if (type.code === LIST || type.code === SET) return this.type(single(type));
    if (type.code === MAP) {
      const [key, value] = pair(type);
      return this.type(key).type(value);
    }
    return this;
  }

  /** The body written so far. */
  toBuffer(): Buffer {
    return Buffer.concat(this.parts);
  }

  private push(bytes: Buffer): this {
    this.parts.push(bytes);
    return this;
  }
}

function single(type: DriverType): DriverType {
  if (!type.info || Array.isArray(type.info)) throw new TypeError(`collection type 0x${type.code.toString(16)} needs its element type`);
  return type.info;
}

function pair(type: DriverType): [DriverType, DriverType] {
  const info = type.info;
  if (!Array.isArray(info) || info.length !== 2) throw new TypeError('map type needs [key, value] types');
  return [info[0] as DriverType, info[1] as DriverType];
}
