/**
 * Bytes to text for NAV exports, one chunk at a time. Detection order: a BOM (UTF-8, UTF-16LE/BE), else the first
 * non-ASCII sequence decides: valid UTF-8 makes the file UTF-8, anything else makes it Windows-1252. Deciding at the
 * first non-ASCII byte (rather than after the whole file) keeps memory flat and the result independent of how the
 * input is chunked.
 */

import { TextDecoder } from 'node:util';

export type Encoding = 'utf-8' | 'utf-16le' | 'utf-16be' | 'windows-1252';

export class DecodeError extends Error {
  override readonly name = 'DecodeError';
  constructor(
    readonly kind: 'NOT_TEXT' | 'BAD_ENCODING',
    message: string,
    /** This call's decoded text before the problem, so the caller can name the line. */
    readonly textBefore: string,
  ) {
    super(message);
  }
}

type Mode = 'bom' | 'ascii' | 'decided';

const UTF8_BOM = [0xef, 0xbb, 0xbf];

export class ChunkDecoder {
  private mode: Mode = 'bom';
  private pending: Uint8Array = new Uint8Array(0);
  private decoder: TextDecoder | null = null;
  encoding: Encoding | null = null;
  sawBom = false;
  /** The input ended inside a multi-byte character (a cut file); those bytes were dropped. */
  cutCharacter = false;

  /** Decoded text of this chunk (may hold back a few bytes of an incomplete character). */
  decode(chunk: Uint8Array): string {
    const bytes = this.pending.length ? concat(this.pending, chunk) : chunk;
    this.pending = new Uint8Array(0);
    return this.run(bytes, false);
  }

  end(): string {
    const bytes = this.pending;
    this.pending = new Uint8Array(0);
    return this.run(bytes, true);
  }

  private run(bytes: Uint8Array, final: boolean): string {
    if (this.mode === 'bom') {
      if (bytes.length < 3 && !final) {
        this.pending = bytes;
        return '';
      }
      bytes = this.detectBom(bytes);
    }
    if (this.mode === 'ascii') return this.runAscii(bytes, final);
    return this.runDecided(bytes, final);
  }

  private detectBom(bytes: Uint8Array): Uint8Array {
    if (bytes[0] === 0xff && bytes[1] === 0xfe) return this.decide('utf-16le', bytes.subarray(2), true);
    if (bytes[0] === 0xfe && bytes[1] === 0xff) return this.decide('utf-16be', bytes.subarray(2), true);
    if (bytes[0] === UTF8_BOM[0] && bytes[1] === UTF8_BOM[1] && bytes[2] === UTF8_BOM[2]) {
      return this.decide('utf-8', bytes.subarray(3), true);
    }
    this.mode = 'ascii';
    return bytes;
  }

  private decide(encoding: Encoding, rest: Uint8Array, bom: boolean): Uint8Array {
    this.encoding = encoding;
    this.sawBom = bom;
    this.mode = 'decided';
    // UTF-16 and UTF-8 are fatal so a broken file is an error, not silent U+FFFD; Windows-1252 maps every byte.
    this.decoder = new TextDecoder(encoding, { fatal: encoding !== 'windows-1252', ignoreBOM: true });
    return rest;
  }

  private runAscii(bytes: Uint8Array, final: boolean): string {
    const firstHigh = indexOfHighByte(bytes);
    if (firstHigh === -1) {
      this.rejectNul(bytes);
      if (final) this.encoding ??= 'utf-8';
      return latin1(bytes);
    }
    const head = bytes.subarray(0, firstHigh);
    this.rejectNul(head);
    const prefix = latin1(head);
    const seq = utf8SequenceLength(bytes[firstHigh] ?? 0);
    if (seq > 0 && bytes.length - firstHigh < seq && !final) {
      this.pending = bytes.slice(firstHigh);
      return prefix;
    }
    const candidate = bytes.subarray(firstHigh, firstHigh + Math.max(seq, 1));
    const encoding: Encoding = seq > 0 && isValidUtf8(candidate) ? 'utf-8' : 'windows-1252';
    this.decide(encoding, bytes, false);
    try {
      return prefix + this.runDecided(bytes.subarray(firstHigh), final);
    } catch (e) {
      if (e instanceof DecodeError) throw new DecodeError(e.kind, e.message, prefix + e.textBefore);
      throw e;
    }
  }

  private runDecided(bytes: Uint8Array, final: boolean): string {
    const decoder = this.decoder;
    if (!decoder) return '';
    if (this.encoding === 'utf-8' || this.encoding === 'windows-1252') this.rejectNul(bytes);
    // An incomplete character at the end waits for the next chunk here rather than inside the TextDecoder, so that
    // every decode starts on a character boundary (and an error can be located), and so that a file that ends
    // inside a character (a cut) is told apart from one with bad bytes.
    const whole = completeLength(bytes, this.encoding);
    if (whole < bytes.length) {
      if (final) this.cutCharacter = true;
      else this.pending = bytes.slice(whole);
      bytes = bytes.subarray(0, whole);
    }
    if (this.encoding === 'windows-1252') return windows1252(bytes);
    let text: string;
    try {
      text = decoder.decode(bytes);
    } catch {
      const good = new TextDecoder(this.encoding ?? 'utf-8').decode(bytes);
      const bad = good.indexOf('\ufffd');
      throw new DecodeError(
        'BAD_ENCODING',
        `bytes that are not valid ${this.encoding} in a file that started as ${this.encoding}`,
        bad === -1 ? good : good.slice(0, bad),
      );
    }
    if (this.encoding === 'utf-16le' || this.encoding === 'utf-16be') {
      const nul = text.indexOf('\u0000');
      if (nul !== -1) {
        throw new DecodeError('NOT_TEXT', 'a NUL character: this is a binary file, not a text export', text.slice(0, nul));
      }
    }
    return text;
  }

  private rejectNul(bytes: Uint8Array): void {
    const nul = bytes.indexOf(0);
    if (nul !== -1) {
      throw new DecodeError('NOT_TEXT', 'a NUL byte: this is a binary file, not a text export', latin1(bytes.subarray(0, nul)));
    }
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

function indexOfHighByte(bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; i++) if ((bytes[i] ?? 0) >= 0x80) return i;
  return -1;
}

function utf8SequenceLength(lead: number): number {
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  return 0;
}

function isValidUtf8(bytes: Uint8Array): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

// Node 20's TextDecoder('windows-1252') decodes as ISO-8859-1, turning 0x80-0x9F ("–", "’", "€") into C1 controls.
const CP1252_80_9F = '€\u0081‚ƒ„…†‡ˆ‰Š‹Œ\u008dŽ\u008f\u0090‘’“”•–—˜™š›œ\u009džŸ';

function windows1252(bytes: Uint8Array): string {
  return latin1(bytes).replace(/[\u0080-\u009f]/g, (c) => CP1252_80_9F.charAt(c.charCodeAt(0) - 0x80));
}

function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

/** Bytes up to the last whole character: an incomplete UTF-8 sequence or UTF-16 unit or surrogate pair is left out. */
function completeLength(bytes: Uint8Array, encoding: Encoding | null): number {
  const n = bytes.length;
  if (encoding === 'utf-8') {
    for (let i = n - 1; i >= Math.max(0, n - 3); i--) {
      const b = bytes[i] ?? 0;
      if ((b & 0xc0) === 0x80) continue;
      return utf8SequenceLength(b) > n - i ? i : n;
    }
    return n;
  }
  if (encoding === 'utf-16le' || encoding === 'utf-16be') {
    const even = n - (n % 2);
    if (even < 2) return even;
    const last =
      encoding === 'utf-16le'
        ? (bytes[even - 2] ?? 0) | ((bytes[even - 1] ?? 0) << 8)
        : ((bytes[even - 2] ?? 0) << 8) | (bytes[even - 1] ?? 0);
    return last >= 0xd800 && last <= 0xdbff ? even - 2 : even;
  }
  return n;
}

export function countLineBreaks(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x0a && (i === 0 || text.charCodeAt(i - 1) !== 0x0d)) n++;
    else if (c === 0x0d) n++;
  }
  return n;
}
