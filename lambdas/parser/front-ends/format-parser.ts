/**
 * The parser for any of NAV's download formats, told apart by their bytes and never by a file name: an .xlsx
 * workbook (a zip), an old binary or encrypted workbook (an OLE container, refused), delimited text (`;`, `,`, or
 * spreadsheet-quoted tabs) or NAV's own text export. Each front-end turns its format into the lines of tab-separated
 * cells the core reads, so every rule of the text format holds for all of them. Same interface as ExportParser.
 *
 * The decision is taken on the first SNIFF_BYTES bytes (or the whole file if shorter), so it, and everything after
 * it, is the same however the input is chunked.
 */
import type { Observation } from '../../schema/columns.ts';
import { ChunkDecoder, DecodeError, countLineBreaks } from '../decoder.ts';
import { ParseError } from '../errors.ts';
import { ExportParser, type LineOrigin, type ParseSummary, type ParseWarning, type ParserOptions } from '../export-parser.ts';
import { cellIndexAt, cellText } from './cells.ts';
import { DelimitedReader, sniffDelimited } from './delimited.ts';
import { LineMap } from './line-map.ts';
import { WORKBOOK_LIMITS, type WorkbookLimits, workbookLines } from './xlsx.ts';

export type ExportFormat = 'text' | 'delimited' | 'xlsx';

export const SNIFF_BYTES = 64 * 1024;
/** A workbook is read whole (its zip directory is at the end); past this it is refused before it is all in memory. */
export const MAX_WORKBOOK_BYTES = 64 * 1024 * 1024;
const DEFAULT_MAX_LINE = 64 * 1024;

export interface FormatLimits {
  maxWorkbookBytes: number;
  workbook: WorkbookLimits;
}

const ZIP_SIGNATURES = [
  [0x50, 0x4b, 0x03, 0x04],
  [0x50, 0x4b, 0x05, 0x06],
  [0x50, 0x4b, 0x07, 0x08],
];
const CFB_SIGNATURE = [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1];

type State = 'sniffing' | 'text' | 'delimited' | 'workbook' | 'ole';

export class FormatParser {
  private state: State = 'sniffing';
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private core: ExportParser | null = null;
  private frontWarnings: ParseWarning[] = [];
  private decoder: ChunkDecoder | null = null;
  private reader: DelimitedReader | null = null;
  private lineBuffer = '';
  private readonly limits: FormatLimits;
  /** Made at once so that bad options throw here, as ExportParser's do; its summary is the one before any input. */
  private readonly before: ExportParser;
  /** Which front-end reads the file; null until the first SNIFF_BYTES bytes (or the end) are in. */
  format: ExportFormat | null = null;

  constructor(
    private readonly options: ParserOptions,
    limits: Partial<FormatLimits> = {},
  ) {
    this.limits = { maxWorkbookBytes: limits.maxWorkbookBytes ?? MAX_WORKBOOK_BYTES, workbook: limits.workbook ?? WORKBOOK_LIMITS };
    this.before = new ExportParser(options);
  }

  /** Records completed by this chunk. */
  write(chunk: Uint8Array): Observation[] {
    switch (this.state) {
      case 'sniffing':
        this.hold(chunk);
        return this.pendingBytes >= SNIFF_BYTES ? this.decide(false) : [];
      case 'text':
        return (this.core as ExportParser).write(chunk);
      case 'delimited':
        return this.delimited(chunk, false);
      case 'workbook':
      case 'ole':
        this.hold(chunk);
        this.checkWorkbookSize();
        return [];
    }
  }

  /** Refused as soon as it is over the limit, before the rest of it is held in memory. */
  private checkWorkbookSize(): void {
    if (this.pendingBytes <= this.limits.maxWorkbookBytes) return;
    throw new ParseError({
      code: 'TOO_LARGE',
      file: this.options.file,
      line: 0,
      message: `a workbook of ${this.pendingBytes} bytes or more; the limit is ${this.limits.maxWorkbookBytes} bytes`,
    });
  }

  /** Records completed by the end of input; after this, summary() is final. */
  end(): Observation[] {
    const out = this.state === 'sniffing' ? this.decide(true) : [];
    switch (this.state) {
      case 'text':
        for (const r of (this.core as ExportParser).end()) out.push(r);
        return out;
      case 'delimited':
        for (const r of this.delimited(new Uint8Array(0), true)) out.push(r);
        return out;
      case 'workbook':
        return this.workbook();
      case 'ole':
        throw oleRefusal(concat(this.pending, this.pendingBytes), this.options.file);
      default:
        return out;
    }
  }

  get warnings(): readonly ParseWarning[] {
    return this.summary().warnings;
  }

  summary(): ParseSummary {
    const s = (this.core ?? this.before).summary();
    if (this.frontWarnings.length > 0) s.warnings = [...this.frontWarnings, ...s.warnings];
    return s;
  }

  private hold(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
  }

  private decide(final: boolean): Observation[] {
    const bytes = concat(this.pending, this.pendingBytes);
    this.pending = bytes.length > 0 ? [bytes] : [];
    if (ZIP_SIGNATURES.some((sig) => startsWith(bytes, sig))) {
      this.state = 'workbook';
      this.format = 'xlsx';
      this.checkWorkbookSize();
      return [];
    }
    if (startsWith(bytes, CFB_SIGNATURE)) {
      this.state = 'ole';
      this.format = 'xlsx';
      this.checkWorkbookSize();
      return [];
    }
    const window = bytes.subarray(0, SNIFF_BYTES);
    const whole = final && bytes.length <= SNIFF_BYTES;
    const delimited = sniffDelimited(headText(window, whole), whole);
    this.pending = [];
    this.pendingBytes = 0;
    if (delimited === null) {
      this.state = 'text';
      this.format = 'text';
      this.core = this.before;
      return this.core.write(bytes);
    }
    this.state = 'delimited';
    this.format = 'delimited';
    const decoder = new ChunkDecoder();
    const map = new LineMap();
    let logical = 0;
    const origin: LineOrigin = {
      get encoding() {
        return decoder.encoding;
      },
      line: (n) => map.line(n),
      cell: (_n, column, text) => {
        const field = cellIndexAt(text, column);
        return { column: field, name: `field ${field}` };
      },
    };
    this.decoder = decoder;
    this.core = new ExportParser({ ...this.options, origin });
    const maxRecord = this.options.maxLineLength ?? DEFAULT_MAX_LINE;
    this.reader = new DelimitedReader(
      delimited,
      maxRecord,
      (cells, line, terminated) => {
        map.set(++logical, line);
        let text = '';
        for (let i = 0; i < cells.length; i++) text += i === 0 ? cellText(cells[i] as string) : `\t${cellText(cells[i] as string)}`;
        this.lineBuffer += terminated ? `${text}\n` : text;
      },
      (line) => {
        throw new ParseError({
          code: 'LINE_TOO_LONG',
          file: this.options.file,
          line,
          message: `a record longer than ${maxRecord} characters (a quoted cell that is never closed?); NAV exports have short lines`,
        });
      },
    );
    return this.delimited(bytes, false);
  }

  private delimited(chunk: Uint8Array, final: boolean): Observation[] {
    const decoder = this.decoder as ChunkDecoder;
    const reader = this.reader as DelimitedReader;
    let text: string;
    try {
      text = final ? decoder.end() : decoder.decode(chunk);
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      throw new ParseError({
        code: e.kind,
        file: this.options.file,
        line: reader.linesRead + 1 + countLineBreaks(reader.heldText + e.textBefore),
        message: e.message,
        cause: e,
      });
    }
    reader.push(text);
    if (final) reader.end();
    const lines = this.lineBuffer;
    this.lineBuffer = '';
    const core = this.core as ExportParser;
    const out = lines === '' ? [] : core.writeText(lines);
    if (final) for (const r of core.end()) out.push(r);
    return out;
  }

  private workbook(): Observation[] {
    const book = workbookLines(concat(this.pending, this.pendingBytes), this.options.file, this.limits.workbook);
    this.pending = [];
    this.frontWarnings = book.warnings;
    this.core = new ExportParser({
      ...this.options,
      file: `${this.options.file}:${book.sheet}`,
      sourceKey: this.options.sourceKey ?? this.options.file,
      origin: book.origin,
    });
    const out = this.core.writeText(book.text);
    for (const r of this.core.end()) out.push(r);
    return out;
  }
}

/** The decoded start of a file, for sniffing only: a decoding problem is the core's to report, with its line. */
function headText(window: Uint8Array, whole: boolean): string {
  const decoder = new ChunkDecoder();
  try {
    const text = decoder.decode(window);
    return whole ? text + decoder.end() : text;
  } catch (e) {
    if (e instanceof DecodeError) return e.textBefore;
    throw e;
  }
}

/**
 * An OLE compound file: an Excel 97-2003 workbook, or an encrypted .xlsx, which Excel stores as an OLE container
 * with EncryptionInfo and EncryptedPackage streams. Stream names are UTF-16LE in the container's directory.
 */
function oleRefusal(bytes: Uint8Array, file: string): ParseError {
  const has = (name: string) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).includes(Buffer.from(name, 'utf16le'));
  if (has('EncryptionInfo') || has('EncryptedPackage')) {
    return new ParseError({
      code: 'ENCRYPTED_WORKBOOK',
      file,
      line: 0,
      message: 'a password-protected workbook: open it in Excel, remove the password (File > Info > Protect Workbook) and save it as .xlsx',
    });
  }
  if (has('Workbook') || has('Book')) {
    return new ParseError({
      code: 'OLD_XLS',
      file,
      line: 0,
      message:
        'an Excel 97-2003 workbook (.xls): open it in Excel and save it as .xlsx (Excel Workbook), or download the table again as .xlsx or text',
    });
  }
  return new ParseError({
    code: 'NOT_A_WORKBOOK',
    file,
    line: 0,
    message: 'an old Office document (OLE compound file) that is not an Excel workbook',
  });
}

function startsWith(bytes: Uint8Array, signature: readonly number[]): boolean {
  return bytes.length >= signature.length && signature.every((b, i) => bytes[i] === b);
}

function concat(chunks: readonly Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) return chunks[0] as Uint8Array;
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
