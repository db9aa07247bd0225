/**
 * Delimited text (`;`, `,` or tab, as spreadsheets save it): records of cells, quoted cells holding the delimiter,
 * quotes or line breaks. NAV's own text export is tab-separated but never quoted (a notes line may start with a quote
 * that closes mid-cell), so a tab file goes to this reader only when it is quoted as a spreadsheet quotes it.
 */
import { monthNumber } from '../vocabulary.ts';

export type Delimiter = '\t' | ';' | ',';

export interface DelimitedFormat {
  delimiter: Delimiter;
  /** The file starts with Excel's `sep=;` line, which is no record. */
  skipFirstLine: boolean;
}

const DELIMITERS: readonly Delimiter[] = ['\t', ';', ','];
const SNIFF_LINES = 500;
const QUOTE = 0x22;
const LF = 0x0a;

/**
 * The format of a text file from its decoded head, or null for NAV's tab-separated text export, which the core reads
 * as it is. The delimiter is the one that splits the first header row (an empty or label cell, then a month name);
 * with no header row in sight the file is read as a text export. `final`: `head` is the whole file, so its last line
 * is whole.
 */
export function sniffDelimited(head: string, final: boolean): DelimitedFormat | null {
  const lines = head.split(/\r\n|\r|\n/);
  if (!final) lines.pop();
  const sep = /^sep=([;,\t])$/.exec(lines[0] ?? '');
  if (sep) return { delimiter: sep[1] as Delimiter, skipFirstLine: true };
  for (const line of lines.slice(0, SNIFF_LINES)) {
    for (const d of DELIMITERS) {
      if (!isHeaderRow(line, d)) continue;
      if (d === '\t' && !spreadsheetQuoted(head, final)) return null;
      return { delimiter: d, skipFirstLine: false };
    }
  }
  return null;
}

function isHeaderRow(line: string, d: Delimiter): boolean {
  const first = line.indexOf(d);
  if (first === -1) return false;
  const next = line.indexOf(d, first + 1);
  const cell = line.slice(first + 1, next === -1 ? line.length : next).trim();
  return monthNumber(cell.length >= 2 && cell.startsWith('"') && cell.endsWith('"') ? cell.slice(1, -1) : cell) !== null;
}

/**
 * True when some tab-separated cell is quoted the way a spreadsheet quotes (a quote opens the cell and the closing
 * quote ends it) and none opens with a quote that closes mid-cell, as NAV's notes line does.
 */
function spreadsheetQuoted(text: string, final: boolean): boolean {
  let quoted = false;
  let atStart = true;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (atStart && c === QUOTE) {
      let j = i + 1;
      for (;;) {
        j = text.indexOf('"', j);
        // Unclosed: in a whole file that is no spreadsheet quoting; in a head, the cell may close further on.
        if (j === -1) return final ? false : quoted;
        if (text.charCodeAt(j + 1) === QUOTE) j += 2;
        else break;
      }
      const after = text.charAt(j + 1);
      if (after !== '' && after !== '\t' && after !== '\n' && after !== '\r') return false;
      quoted = true;
      i = j;
      atStart = false;
      continue;
    }
    atStart = c === 0x09 || c === LF || c === 0x0d;
  }
  return quoted;
}

/** One record: its cells, the source line it starts on, and whether a line break ended it (else the file did). */
export type RecordSink = (cells: string[], line: number, terminated: boolean) => void;

/**
 * Records from text pushed in pieces of any size; the same records whatever the pieces. A record longer than
 * `maxRecord` characters (an unclosed quote swallowing the file) is refused through `tooLong` as soon as it is.
 */
export class DelimitedReader {
  private readonly d: string;
  private carry = '';
  private cells: string[] = [];
  private cellsLength = 0;
  private cell = '';
  private inQuotes = false;
  /** The last piece ended on a quote inside a quoted cell: a doubled quote or the closing one, as the next piece says. */
  private quoteAtEnd = false;
  private atCellStart = true;
  /** Source line being read (1-based), and the one the current record started on. */
  private lineNo = 1;
  private recordLine = 1;
  private skipping: boolean;

  constructor(
    format: DelimitedFormat,
    private readonly maxRecord: number,
    private readonly sink: RecordSink,
    private readonly tooLong: (line: number) => never,
  ) {
    this.d = format.delimiter;
    this.skipping = format.skipFirstLine;
  }

  /** Line breaks read so far, and the text held back: to place a problem in text not yet pushed. */
  get linesRead(): number {
    return this.lineNo - 1;
  }

  get heldText(): string {
    return this.carry;
  }

  push(text: string): void {
    let t = this.carry + text;
    this.carry = '';
    // A CR at the end may be half a CRLF: it waits for the next piece.
    if (t.charCodeAt(t.length - 1) === 0x0d) {
      this.carry = '\r';
      t = t.slice(0, -1);
    }
    this.read(t);
  }

  end(): void {
    const t = this.carry;
    this.carry = '';
    this.read(t);
    if (this.quoteAtEnd) {
      this.quoteAtEnd = false;
      this.inQuotes = false;
    }
    if (this.inQuotes || this.cell !== '' || this.cells.length > 0) {
      // The file ends inside a record (or inside a quoted cell, cut mid-way): what is there, marked unterminated.
      this.cells.push(this.cell);
      this.emit(false);
    }
  }

  private read(input: string): void {
    const t = input.indexOf('\r') === -1 ? input : input.replace(/\r\n?/g, '\n');
    const n = t.length;
    const d = this.d;
    let i = 0;
    if (this.quoteAtEnd && n > 0) {
      this.quoteAtEnd = false;
      if (t.charCodeAt(0) === QUOTE) {
        this.append('"');
        i = 1;
      } else this.inQuotes = false;
    }
    let nextD = -2;
    let nextNl = -2;
    while (i < n) {
      if (this.inQuotes) {
        const q = t.indexOf('"', i);
        const end = q === -1 ? n : q;
        const piece = t.slice(i, end);
        this.lineNo += countLf(piece);
        this.append(piece);
        if (q === -1) return;
        if (q === n - 1) {
          this.quoteAtEnd = true;
          return;
        }
        if (t.charCodeAt(q + 1) === QUOTE) {
          this.append('"');
          i = q + 2;
        } else {
          this.inQuotes = false;
          i = q + 1;
        }
        continue;
      }
      if (this.atCellStart && t.charCodeAt(i) === QUOTE) {
        this.inQuotes = true;
        this.atCellStart = false;
        i++;
        continue;
      }
      // Text up to the next delimiter or line break; a quote inside an unquoted cell (or after a closing quote) is
      // kept as it is, as spreadsheets read it.
      if (nextD < i && nextD !== -1) nextD = t.indexOf(d, i);
      if (nextNl < i && nextNl !== -1) nextNl = t.indexOf('\n', i);
      const stop = nextD === -1 ? nextNl : nextNl === -1 ? nextD : Math.min(nextD, nextNl);
      if (stop === -1) {
        this.append(t.slice(i));
        this.atCellStart = false;
        return;
      }
      this.append(t.slice(i, stop));
      this.cells.push(this.cell);
      this.cellsLength += this.cell.length + 1;
      this.cell = '';
      this.atCellStart = true;
      i = stop + 1;
      if (stop === nextNl) {
        this.emit(true);
        this.lineNo++;
        this.recordLine = this.lineNo;
      }
    }
  }

  private append(piece: string): void {
    if (piece === '') return;
    this.cell += piece;
    if (this.cellsLength + this.cell.length > this.maxRecord) this.tooLong(this.recordLine);
  }

  private emit(terminated: boolean): void {
    const cells = this.cells;
    this.cells = [];
    this.cellsLength = 0;
    this.cell = '';
    this.atCellStart = true;
    this.inQuotes = false;
    if (this.skipping) {
      this.skipping = false;
      return;
    }
    this.sink(cells, this.recordLine, terminated);
  }
}

function countLf(s: string): number {
  let n = 0;
  for (let i = s.indexOf('\n'); i !== -1; i = s.indexOf('\n', i + 1)) n++;
  return n;
}
