/**
 * An .xlsx workbook as the core's lines: the sheet holding the table, one line of tab-separated cells per row, an
 * empty line for each run of empty rows, with a LineOrigin so that errors and warnings name the row and cell.
 *
 * The sheet XML a spreadsheet writes is regular (`<row r>` of `<c r t s>` holding `<v>` or `<is><t>`), so a small
 * scanner reads it: only sheetData, merged ranges, shared strings, the workbook's sheet list and its relationships.
 * Styles, formulas, drawings and everything else are never inflated.
 */
import type { Encoding } from '../decoder.ts';
import { ParseError, type ParseErrorCode } from '../errors.ts';
import type { LineOrigin, ParseWarning } from '../export-parser.ts';
import { monthNumber } from '../vocabulary.ts';
import { cellIndexAt, cellText, columnName } from './cells.ts';
import { LineMap } from './line-map.ts';
import { ZipReader, type ZipLimits } from './zip.ts';

export interface WorkbookLimits extends ZipLimits {
  maxSharedStrings: number;
}

/**
 * A NAV workbook has about a dozen entries, a few hundred shared strings and a sheet of a few megabytes at most; the
 * limits are a hundredfold that, and independent of any cap on the upload itself.
 */
export const WORKBOOK_LIMITS: WorkbookLimits = {
  maxEntries: 2_000,
  maxUncompressedBytes: 64 * 1024 * 1024,
  maxSharedStrings: 200_000,
};

const MAX_COLUMN = 16_384;
const MAX_ROW = 1_048_576;
const MAX_MERGES = 10_000;

export interface SheetLines {
  /** The sheet read, named in errors: `export.xlsx:Tabell`. */
  sheet: string;
  /** The core's input: lines of tab-separated cells, each ended by a line break. */
  text: string;
  origin: LineOrigin;
  /** About the workbook rather than a line: other sheets that look like tables too. */
  warnings: ParseWarning[];
}

interface Cell {
  column: number;
  text: string;
}

interface Row {
  row: number;
  cells: Cell[];
}

interface SheetRef {
  name: string;
  path: string;
}

const OFFICE_DOCUMENT = /\/officeDocument$/;
const WORKSHEET = /\/worksheet$/;
const SHARED_STRINGS = /\/sharedStrings$/;

export function workbookLines(bytes: Uint8Array, file: string, limits: WorkbookLimits = WORKBOOK_LIMITS): SheetLines {
  const fail = (code: ParseErrorCode, message: string, cause?: unknown): never => {
    throw new ParseError({ code, file, line: 0, message, cause });
  };
  const zip = new ZipReader(bytes, file, limits);
  const workbookPath = findWorkbook(zip, file);
  const workbook = xmlText(zip, workbookPath, file);
  const rels = relationships(zip, workbookPath, file);
  const sheets: SheetRef[] = [];
  for (const m of workbook.matchAll(/<(?:\w+:)?sheet\b([^>]*)>/g)) {
    const attrs = m[1] ?? '';
    const rel = rels.get(attr(attrs, '(?:\\w+:)?id') ?? '');
    if (rel && WORKSHEET.test(rel.type)) sheets.push({ name: decodeXml(attr(attrs, 'name') ?? '?'), path: rel.target });
  }
  if (sheets.length === 0) fail('NO_TABLE', 'the workbook has no worksheet');
  const sstPath = [...rels.values()].find((r) => SHARED_STRINGS.test(r.type))?.target ?? 'xl/sharedStrings.xml';
  const strings = sharedStrings(zip.has(sstPath) ? xmlText(zip, sstPath, file) : '', limits, file);

  let chosen: { ref: SheetRef; rows: Row[] } | null = null;
  let firstWithCells: { ref: SheetRef; rows: Row[] } | null = null;
  const alsoTables: string[] = [];
  for (const ref of sheets) {
    const xml = zip.has(ref.path)
      ? xmlText(zip, ref.path, file)
      : fail('BAD_WORKBOOK', `the sheet "${ref.name}" (${ref.path}) is missing from the workbook`);
    const rows = sheetRows(xml, strings, `${file}:${ref.name}`);
    if (!firstWithCells && rows.some((r) => r.cells.some((c) => c.text.trim() !== ''))) firstWithCells = { ref, rows };
    if (!hasHeaderRow(rows)) continue;
    if (chosen) alsoTables.push(ref.name);
    else chosen = { ref, rows };
  }
  // No sheet with a header row of months: the first sheet with anything in it, so the core says what is wrong there.
  const table =
    chosen ?? firstWithCells ?? fail('NO_TABLE', `the workbook's sheets (${sheets.map((s) => `"${s.name}"`).join(', ')}) are empty`);
  const lines = toLines(table.rows);
  return {
    sheet: table.ref.name,
    text: lines.text,
    origin: lines.origin,
    warnings: alsoTables.map((name) => ({
      code: 'IGNORED_TEXT' as const,
      line: 0,
      message: `the sheet "${name}" also holds a table and was not read; only "${table.ref.name}" was (upload one sheet per file)`,
    })),
  };
}

function findWorkbook(zip: ZipReader, file: string): string {
  const rootRels = zip.has('_rels/.rels') ? xmlText(zip, '_rels/.rels', file) : '';
  for (const m of rootRels.matchAll(/<(?:\w+:)?Relationship\b([^>]*)>/g)) {
    const attrs = m[1] ?? '';
    if (OFFICE_DOCUMENT.test(attr(attrs, 'Type') ?? '')) {
      const target = resolvePath('', attr(attrs, 'Target') ?? '');
      if (zip.has(target) && /\.xml$/i.test(target) && !/^word\/|^ppt\//i.test(target)) return target;
    }
  }
  if (zip.has('xl/workbook.xml')) return 'xl/workbook.xml';
  const mimetype = zip.has('mimetype') ? new TextDecoder().decode(zip.read('mimetype') ?? new Uint8Array()) : '';
  const what = mimetype.includes('opendocument.spreadsheet')
    ? 'an OpenDocument spreadsheet (.ods): save it as .xlsx'
    : zip.has('word/document.xml')
      ? 'a Word document (.docx)'
      : zip.has('ppt/presentation.xml')
        ? 'a PowerPoint presentation (.pptx)'
        : `a zip archive of ${zip.entries.size} file${zip.entries.size === 1 ? '' : 's'}, not an Excel workbook (unzip it and upload the export itself)`;
  throw new ParseError({ code: 'NOT_A_WORKBOOK', file, line: 0, message: `this is ${what}` });
}

function relationships(zip: ZipReader, partPath: string, file: string): Map<string, { type: string; target: string }> {
  const slash = partPath.lastIndexOf('/');
  const dir = partPath.slice(0, slash + 1);
  const relsPath = `${dir}_rels/${partPath.slice(slash + 1)}.rels`;
  const out = new Map<string, { type: string; target: string }>();
  if (!zip.has(relsPath)) return out;
  for (const m of xmlText(zip, relsPath, file).matchAll(/<(?:\w+:)?Relationship\b([^>]*)>/g)) {
    const attrs = m[1] ?? '';
    const id = attr(attrs, 'Id');
    if (id !== null && attr(attrs, 'TargetMode') !== 'External') {
      out.set(id, { type: attr(attrs, 'Type') ?? '', target: resolvePath(dir, decodeXml(attr(attrs, 'Target') ?? '')) });
    }
  }
  return out;
}

/** A relationship target against the directory of the part that names it (`/xl/...` is from the root). */
function resolvePath(dir: string, target: string): string {
  const parts = (target.startsWith('/') ? target.slice(1) : dir + target).split('/');
  const out: string[] = [];
  for (const p of parts) {
    if (p === '..') out.pop();
    else if (p !== '.' && p !== '') out.push(p);
  }
  return out.join('/');
}

function xmlText(zip: ZipReader, path: string, file: string): string {
  const bytes = zip.read(path);
  if (!bytes) throw new ParseError({ code: 'BAD_WORKBOOK', file, line: 0, message: `the workbook part ${path} is missing` });
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (cause) {
    // UTF-16 XML is allowed, though no spreadsheet writes it.
    if (bytes[0] === 0xff && bytes[1] === 0xfe) return new TextDecoder('utf-16le').decode(bytes);
    if (bytes[0] === 0xfe && bytes[1] === 0xff) return new TextDecoder('utf-16be').decode(bytes);
    throw new ParseError({ code: 'BAD_WORKBOOK', file, line: 0, message: `the workbook part ${path} is not valid UTF-8 XML`, cause });
  }
}

const ATTRIBUTES = new Map<string, RegExp>();

/** An attribute's raw value, either quote style; null when absent. `name` is a regular expression source. */
function attr(attrs: string, name: string): string | null {
  let re = ATTRIBUTES.get(name);
  if (!re) {
    re = new RegExp(`(?:^|\\s)${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)')`);
    ATTRIBUTES.set(name, re);
  }
  const m = re.exec(attrs);
  return m ? (m[1] ?? m[2] ?? '') : null;
}

/**
 * Each element `name` (any namespace prefix) of `xml`, in order: its start tag's attributes and its content (null
 * when self-closing). One forward pass with indexOf, so that a hostile part (start tags never closed) costs time in
 * proportion to its size, where a lazy regular expression would rescan the rest of the part from every start tag.
 * Elements of the same name must not nest, which holds for the ones read here.
 */
function eachElement(
  xml: string,
  name: string,
  onElement: (attrs: string, inner: string | null) => void,
  bad: (why: string) => never,
): void {
  const open = startTag(name);
  open.lastIndex = 0;
  for (let m = open.exec(xml); m !== null; m = open.exec(xml)) {
    const gt = xml.indexOf('>', m.index);
    if (gt === -1) bad(`a <${name}> start tag that never ends`);
    const selfClosing = xml.charCodeAt(gt - 1) === 0x2f;
    const attrs = xml.slice(m.index + m[0].length, selfClosing ? gt - 1 : gt);
    if (selfClosing) {
      onElement(attrs, null);
      open.lastIndex = gt + 1;
      continue;
    }
    const close = `</${m[1] ?? ''}${name}>`;
    const end = xml.indexOf(close, gt + 1);
    if (end === -1) bad(`a <${name}> element that is never closed`);
    onElement(attrs, xml.slice(gt + 1, end));
    open.lastIndex = end + close.length;
  }
}

/** The content of the first element `name`, '' when self-closing, null when there is none. */
function firstElement(xml: string, name: string, bad: (why: string) => never): string | null {
  const open = startTag(name);
  open.lastIndex = 0;
  const m = open.exec(xml);
  if (!m) return null;
  const gt = xml.indexOf('>', m.index);
  if (gt === -1) bad(`a <${name}> start tag that never ends`);
  if (xml.charCodeAt(gt - 1) === 0x2f) return '';
  const end = xml.indexOf(`</${m[1] ?? ''}${name}>`, gt + 1);
  return end === -1 ? bad(`a <${name}> element that is never closed`) : xml.slice(gt + 1, end);
}

const START_TAGS = new Map<string, RegExp>();

function startTag(name: string): RegExp {
  let re = START_TAGS.get(name);
  if (!re) {
    re = new RegExp(`<(\\w+:)?${name}(?=[\\s/>])`, 'g');
    START_TAGS.set(name, re);
  }
  return re;
}

function sharedStrings(xml: string, limits: WorkbookLimits, file: string): string[] {
  const out: string[] = [];
  const bad = (why: string): never => {
    throw new ParseError({ code: 'BAD_WORKBOOK', file, line: 0, message: `the shared strings hold ${why}: the workbook is damaged` });
  };
  eachElement(
    xml,
    'si',
    (_, inner) => {
      if (out.length >= limits.maxSharedStrings) {
        throw new ParseError({
          code: 'ZIP_BOMB',
          file,
          line: 0,
          message: `the workbook has more than ${limits.maxSharedStrings} shared strings; a NAV table has a few hundred`,
        });
      }
      out.push(runText(inner ?? '', bad));
    },
    bad,
  );
  return out;
}

/** The text of a string item: its `<t>` runs, without phonetic runs (`<rPh>`), entities and `_xHHHH_` decoded. */
function runText(inner: string, bad: (why: string) => never): string {
  let body = inner;
  if (body.indexOf('rPh') !== -1) {
    // Phonetic runs hold their own <t>: drop them whole first.
    let kept = '';
    let at = 0;
    const open = startTag('rPh');
    open.lastIndex = 0;
    for (let m = open.exec(body); m !== null; m = open.exec(body)) {
      const close = `</${m[1] ?? ''}rPh>`;
      const end = body.indexOf(close, m.index);
      if (end === -1) bad('a <rPh> element that is never closed');
      kept += body.slice(at, m.index);
      at = end + close.length;
      open.lastIndex = at;
    }
    body = kept + body.slice(at);
  }
  const runs: string[] = [];
  eachElement(body, 't', (_, t) => runs.push(t ?? ''), bad);
  return decodeEscapes(decodeXml(runs.join('')));
}

const ENTITIES: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

export function decodeXml(s: string): string {
  if (s.indexOf('&') === -1 && s.indexOf('<![CDATA[') === -1) return s;
  return s.replace(
    /<!\[CDATA\[([\s\S]*?)\]\]>|&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g,
    (whole, cdata: string | undefined, ref: string | undefined) => {
      if (cdata !== undefined) return cdata;
      const r = ref ?? '';
      if (r.startsWith('#')) {
        const code = r[1] === 'x' ? Number.parseInt(r.slice(2), 16) : Number.parseInt(r.slice(1), 10);
        return code <= 0x10ffff ? String.fromCodePoint(code) : whole;
      }
      return ENTITIES[r] ?? whole;
    },
  );
}

/** OOXML's escape for characters XML cannot hold (`_x000D_`), and `_x005F_` for a literal underscore. */
function decodeEscapes(s: string): string {
  if (s.indexOf('_x') === -1) return s;
  return s.replace(/_x([0-9A-Fa-f]{4})_/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
}

const CELL_REF = /^([A-Z]{1,3})(\d+)$/;

function sheetRows(xml: string, strings: readonly string[], where: string): Row[] {
  const bad = (message: string): never => {
    throw new ParseError({ code: 'BAD_WORKBOOK', file: where, line: 0, message });
  };
  const open = /<(?:\w+:)?sheetData\b[^>]*?(\/?)>/.exec(xml);
  if (!open) bad('the sheet has no sheetData element');
  const start = (open?.index ?? 0) + (open?.[0].length ?? 0);
  const end = /<\/(?:\w+:)?sheetData>/g;
  end.lastIndex = start;
  const close = open?.[1] === '/' ? start : (end.exec(xml)?.index ?? -1);
  const data = close === -1 ? bad('the sheet XML ends inside its sheetData: the workbook is damaged') : xml.slice(start, close);
  const rows: Row[] = [];
  let lastRow = 0;
  eachElement(
    data,
    'row',
    (rowAttrs, rowInner) => {
      const r = attr(rowAttrs, 'r');
      const row = r === null ? lastRow + 1 : Number(r);
      if (!Number.isInteger(row) || row <= lastRow || row > MAX_ROW) bad(`row number "${r}" after row ${lastRow}`);
      lastRow = row;
      const cells: Cell[] = [];
      let lastColumn = 0;
      eachElement(
        rowInner ?? '',
        'c',
        (attrs, inner) => {
          const ref = attr(attrs, 'r');
          let column = lastColumn + 1;
          if (ref !== null) {
            const m = CELL_REF.exec(ref);
            if (!m || Number(m[2]) !== row) bad(`the cell reference "${ref}" in row ${row}`);
            column = columnNumber(m?.[1] ?? '');
          }
          if (column <= lastColumn || column > MAX_COLUMN) bad(`the cell reference "${ref}" in row ${row}`);
          lastColumn = column;
          const name = ref ?? `${columnName(column)}${row}`;
          const text = cellValue(attr(attrs, 't'), inner ?? '', strings, name, bad);
          if (text !== '') cells.push({ column, text });
        },
        bad,
      );
      rows.push({ row, cells });
    },
    bad,
  );
  blankMergedCells(xml, rows);
  return rows;
}

function columnNumber(letters: string): number {
  let n = 0;
  for (let i = 0; i < letters.length; i++) n = n * 26 + (letters.charCodeAt(i) - 64);
  return n;
}

function cellValue(type: string | null, inner: string, strings: readonly string[], name: string, bad: (why: string) => never): string {
  if (type === 'inlineStr') {
    const is = firstElement(inner, 'is', bad);
    return is === null ? '' : runText(is, bad);
  }
  const v = firstElement(inner, 'v', bad);
  if (v === null) return '';
  const raw = decodeXml(v);
  switch (type) {
    case 's': {
      const s = strings[Number(raw)];
      return s === undefined ? bad(`the cell ${name} names a shared string that does not exist`) : s;
    }
    case 'str':
      return decodeEscapes(raw);
    case 'b':
      return raw === '1' ? 'TRUE' : 'FALSE';
    case 'e':
    case 'd':
      return raw;
    default:
      return numberText(raw);
  }
}

/**
 * A numeric cell as the text the core reads. NAV's counts are whole; a value a formula left a hair off a whole number
 * (14401.999999999998) is that number, anything else stays as it is so that the core refuses it (BAD_NUMBER).
 */
function numberText(raw: string): string {
  const x = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(x)) return raw;
  const whole = Math.round(x);
  if (Math.abs(x - whole) <= 1e-9 * Math.max(1, Math.abs(x))) return String(whole === 0 ? 0 : whole);
  return String(x);
}

/** Only the top-left cell of a merged range holds its value; whatever the others hold is not shown, so not read. */
function blankMergedCells(xml: string, rows: Row[]): void {
  if (xml.indexOf('mergeCell') === -1) return;
  const merges = [...xml.matchAll(/<(?:\w+:)?mergeCell\b[^>]*?\bref\s*=\s*["']([A-Z]+)(\d+):([A-Z]+)(\d+)["']/g)];
  if (merges.length === 0 || merges.length > MAX_MERGES) return;
  const numbers = rows.map((r) => r.row);
  for (const m of merges) {
    const [c1, r1, c2, r2] = [columnNumber(m[1] ?? ''), Number(m[2]), columnNumber(m[3] ?? ''), Number(m[4])];
    for (let i = lowerBound(numbers, r1); i < rows.length && (rows[i] as Row).row <= r2; i++) {
      const row = rows[i] as Row;
      row.cells = row.cells.filter((c) => c.column < c1 || c.column > c2 || (row.row === r1 && c.column === c1));
    }
  }
}

function lowerBound(sorted: readonly number[], x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((sorted[mid] as number) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** A header row of the text layout: a month name right of the table's first column (where the labels are). */
function hasHeaderRow(rows: readonly Row[]): boolean {
  let first = MAX_COLUMN + 1;
  for (const r of rows) for (const c of r.cells) if (c.column < first && c.text.trim() !== '') first = c.column;
  return rows.some((r) => r.cells.some((c) => c.column > first && monthNumber(c.text) !== null));
}

/**
 * Rows to lines. Columns empty in every row are left out, so a table that starts in column B, or whose labels span
 * two merged columns, reads as the text export does; each logical cell then maps back to one sheet column.
 */
function toLines(rows: readonly Row[]): { text: string; origin: LineOrigin } {
  const used = new Set<number>();
  for (const r of rows) for (const c of r.cells) if (c.text.trim() !== '') used.add(c.column);
  const columns = [...used].sort((a, b) => a - b);
  const slot = new Map(columns.map((c, i) => [c, i]));
  const map = new LineMap();
  const parts: string[] = [];
  let n = 0;
  let lastRow = 0;
  for (const r of rows) {
    if (r.row > lastRow + 1) {
      // A run of empty rows is one empty line: all the core makes of several.
      map.set(++n, lastRow + 1);
      parts.push('');
    }
    lastRow = r.row;
    const cells: string[] = [];
    for (const c of r.cells) {
      const i = slot.get(c.column);
      if (i === undefined) continue;
      while (cells.length < i) cells.push('');
      cells[i] = cellText(c.text);
    }
    map.set(++n, r.row);
    parts.push(cells.join('\t'));
  }
  const encoding: Encoding = 'utf-8';
  const origin: LineOrigin = {
    encoding,
    line: (i) => map.line(i),
    cell: (i, column, text) => {
      const cell = cellIndexAt(text, column) - 1;
      const sheetColumn = columns[cell] ?? (columns[columns.length - 1] ?? 0) + (cell - columns.length + 1);
      return { column: sheetColumn, name: `cell ${columnName(sheetColumn)}${map.line(i)}` };
    },
  };
  return { text: parts.length === 0 ? '' : `${parts.join('\n')}\n`, origin };
}
