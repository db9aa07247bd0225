/**
 * Just enough of the zip format to read a workbook's parts, with limits that hold against a decompression bomb:
 * the entries are counted before any is read, each part's declared size counts against a budget before it is
 * inflated, and inflating stops at the declared size (zlib's maxOutputLength), so a central directory that lies
 * about sizes cannot make it write more. Then the length and CRC-32 must match what the directory says.
 *
 * node:zlib rather than a JavaScript inflater: it is in every Node runtime (nothing added to the Lambda bundle),
 * native speed, and its output cap is enforced inside zlib.
 */
import { inflateRawSync } from 'node:zlib';
import { ParseError, type ParseErrorCode } from '../errors.ts';

export interface ZipLimits {
  /** Entries in the central directory (a workbook has about a dozen). */
  maxEntries: number;
  /** Uncompressed bytes of all the parts read, together. */
  maxUncompressedBytes: number;
}

export interface ZipEntry {
  name: string;
  flags: number;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

export class ZipReader {
  readonly entries: ReadonlyMap<string, ZipEntry>;
  private inflated = 0;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly file: string,
    private readonly limits: ZipLimits,
  ) {
    this.entries = this.readDirectory();
  }

  /** Part names are case-insensitive in a workbook (OPC). */
  has(name: string): boolean {
    return this.entries.has(name.toLowerCase());
  }

  /** The part's bytes, or null when there is no such part. */
  read(name: string): Uint8Array | null {
    const entry = this.entries.get(name.toLowerCase());
    if (!entry) return null;
    if (entry.flags & 1) this.fail('ENCRYPTED_WORKBOOK', `the zip entry ${entry.name} is encrypted; save the workbook without a password`);
    if (this.inflated + entry.size > this.limits.maxUncompressedBytes) {
      this.fail(
        'ZIP_BOMB',
        `the workbook's parts would inflate to more than ${this.limits.maxUncompressedBytes} bytes (${entry.name} alone declares ${entry.size})`,
      );
    }
    this.inflated += entry.size;
    const data = this.compressedData(entry);
    let out: Uint8Array;
    if (entry.method === 0) out = data;
    else if (entry.method === 8) {
      try {
        // One byte of slack, so that output past the declared size is told apart from output that fits exactly.
        out = inflateRawSync(data, { maxOutputLength: entry.size + 1 });
      } catch (cause) {
        if ((cause as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
          this.fail('ZIP_BOMB', `${entry.name} inflates past the ${entry.size} bytes its zip directory declares`, cause);
        }
        this.fail('BAD_WORKBOOK', `${entry.name} is not valid deflate data: the workbook is damaged`, cause);
      }
    } else this.fail('BAD_WORKBOOK', `${entry.name} uses zip compression method ${entry.method}, which Excel never writes`);
    if (out.length !== entry.size) {
      const why = out.length > entry.size ? 'inflates past' : 'inflates to less than';
      this.fail(
        out.length > entry.size ? 'ZIP_BOMB' : 'BAD_WORKBOOK',
        `${entry.name} ${why} the ${entry.size} bytes its zip directory declares`,
      );
    }
    if (crc32(out) !== entry.crc) this.fail('BAD_WORKBOOK', `${entry.name} fails its CRC check: the workbook is damaged`);
    return out;
  }

  private readDirectory(): Map<string, ZipEntry> {
    const b = this.bytes;
    const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    let eocd = -1;
    for (let i = b.length - 22; i >= Math.max(0, b.length - 22 - 0xffff); i--) {
      if (view.getUint32(i, true) === EOCD) {
        eocd = i;
        break;
      }
    }
    if (eocd === -1) {
      this.fail('BAD_WORKBOOK', 'the zip archive has no directory at its end: the download was cut off or the file is damaged');
    }
    const count = view.getUint16(eocd + 10, true);
    const size = view.getUint32(eocd + 12, true);
    const offset = view.getUint32(eocd + 16, true);
    if (count === 0xffff || size === 0xffffffff || offset === 0xffffffff) {
      this.fail('BAD_WORKBOOK', 'a zip64 archive: NAV workbooks are small zip archives');
    }
    if (count > this.limits.maxEntries) {
      this.fail('ZIP_BOMB', `the zip archive has ${count} entries; a workbook has a few dozen at most (limit ${this.limits.maxEntries})`);
    }
    if (offset + size > eocd) this.fail('BAD_WORKBOOK', 'the zip directory lies outside the file: the workbook is damaged');
    const entries = new Map<string, ZipEntry>();
    let p = offset;
    for (let i = 0; i < count; i++) {
      if (p + 46 > offset + size || view.getUint32(p, true) !== CENTRAL) {
        this.fail('BAD_WORKBOOK', `zip directory entry ${i + 1} of ${count} is damaged`);
      }
      const flags = view.getUint16(p + 8, true);
      const nameLength = view.getUint16(p + 28, true);
      const end = p + 46 + nameLength + view.getUint16(p + 30, true) + view.getUint16(p + 32, true);
      if (end > offset + size) this.fail('BAD_WORKBOOK', `zip directory entry ${i + 1} of ${count} is damaged`);
      const rawName = b.subarray(p + 46, p + 46 + nameLength);
      const name = Buffer.from(rawName.buffer, rawName.byteOffset, rawName.byteLength).toString(flags & 0x800 ? 'utf8' : 'latin1');
      const entry: ZipEntry = {
        name,
        flags,
        method: view.getUint16(p + 10, true),
        crc: view.getUint32(p + 16, true),
        compressedSize: view.getUint32(p + 20, true),
        size: view.getUint32(p + 24, true),
        localOffset: view.getUint32(p + 42, true),
      };
      if (entry.size === 0xffffffff || entry.compressedSize === 0xffffffff) {
        this.fail('BAD_WORKBOOK', `${name} is a zip64 entry: NAV workbooks are small zip archives`);
      }
      const key = name.toLowerCase();
      if (!entries.has(key)) entries.set(key, entry);
      p = end;
    }
    return entries;
  }

  private compressedData(entry: ZipEntry): Uint8Array {
    const b = this.bytes;
    const at = entry.localOffset;
    const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    if (at + 30 > b.length || view.getUint32(at, true) !== LOCAL) {
      this.fail('BAD_WORKBOOK', `the zip entry ${entry.name} is not where the directory says: the workbook is damaged`);
    }
    const start = at + 30 + view.getUint16(at + 26, true) + view.getUint16(at + 28, true);
    if (start + entry.compressedSize > b.length) {
      this.fail('BAD_WORKBOOK', `the zip entry ${entry.name} runs past the end of the file: the download was cut off`);
    }
    return b.subarray(start, start + entry.compressedSize);
  }

  private fail(code: ParseErrorCode, message: string, cause?: unknown): never {
    throw new ParseError({ code, file: this.file, line: 0, message, cause });
  }
}

let CRC_TABLE: Int32Array | null = null;

/** CRC-32 (IEEE), as zip stores it. */
export function crc32(bytes: Uint8Array): number {
  let table = CRC_TABLE;
  if (!table) {
    table = new Int32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c;
    }
    CRC_TABLE = table;
  }
  let crc = -1;
  for (let i = 0; i < bytes.length; i++) crc = (table[(crc ^ (bytes[i] as number)) & 0xff] as number) ^ (crc >>> 8);
  return (crc ^ -1) >>> 0;
}
