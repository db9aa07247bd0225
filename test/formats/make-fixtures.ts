// The 2019 text export (or any export text) as the spreadsheet downloads NAV's pages offer: .xlsx workbooks and
// delimited text, in the shapes spreadsheets write them. Built in the test run, nothing binary is committed:
//   const bytes = xlsxFromText(seedText(), { numbers: 'text-nbsp', strings: 'inline' });
//   const csv = csvFromText(seedText(), { delimiter: ';', encoding: 'windows-1252', eol: '\r\n' });
// Also a small zip writer that can lie (sizes, CRC, flags), for the refusals and the bomb.
// By hand: node --import tsx test/formats/make-fixtures.ts <out dir>   (writes the seed in every shape)
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32, deflateRawSync } from 'node:zlib';
import { encodeWindows1252 } from '../helpers/windows-1252.ts';

// ---- zip --------------------------------------------------------------------------------------------------------

export interface ZipInput {
  name: string;
  data: Uint8Array | string;
  /** 8 (deflate, default) or 0 (stored). */
  method?: 0 | 8;
  /** What the central directory claims, to build lying archives. */
  declaredSize?: number;
  crc?: number;
  flags?: number;
}

const DOS_1980_01_01 = (1 << 5) | 1;

export function zipArchive(entries: readonly ZipInput[]): Uint8Array {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const data = typeof e.data === 'string' ? Buffer.from(e.data, 'utf8') : Buffer.from(e.data);
    const method = e.method ?? 8;
    const body = method === 8 ? deflateRawSync(data) : data;
    const name = Buffer.from(e.name, 'utf8');
    const crc = e.crc ?? crc32(data);
    const size = e.declaredSize ?? data.length;
    const flags = (e.flags ?? 0) | 0x800;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(flags, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(DOS_1980_01_01, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(flags, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt16LE(DOS_1980_01_01, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, body);
    centrals.push(central, name);
    offset += local.length + name.length + body.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return new Uint8Array(Buffer.concat([...locals, directory, end]));
}

// ---- the text export as rows of cells ---------------------------------------------------------------------------

/** One row of the sheet: its cells, or null for an empty row. */
export type SheetRow = string[] | null;

/**
 * Rows as a spreadsheet holds the export: a line is a row, a tab starts a cell, and a heading or label the text
 * export wraps over consecutive lines is one cell with line breaks, as it is in the spreadsheet.
 */
export function rowsOfText(text: string): { rows: SheetRow[]; endsWithBreak: boolean } {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const endsWithBreak = lines[lines.length - 1] === '';
  if (endsWithBreak) lines.pop();
  const rows: SheetRow[] = [];
  let previousWasLoneCell = false;
  for (const line of lines) {
    if (line.trim() === '') {
      rows.push(null);
      previousWasLoneCell = false;
      continue;
    }
    const cells = line.split('\t');
    const last = rows[rows.length - 1];
    if (cells.length === 1 && previousWasLoneCell && last) {
      last[0] = `${last[0]}\n${line}`;
      continue;
    }
    rows.push(cells);
    previousWasLoneCell = cells.length === 1;
  }
  return { rows, endsWithBreak };
}

const NAV_NUMBER = /^\d{1,3}(?: \d{3})*$/;

// ---- .xlsx ------------------------------------------------------------------------------------------------------

export interface XlsxOptions {
  sheetName?: string;
  /** A notes sheet before the table's (default true). */
  notesSheet?: boolean;
  /** Counts as numeric cells (default), or as text with NBSP thousands separators ("14 402"). */
  numbers?: 'numeric' | 'text-nbsp';
  /** Text in the shared-strings table (default) or inline in the sheet. */
  strings?: 'shared' | 'inline';
  /** A namespace prefix on every sheet element (`x:row`), as some libraries write. */
  prefix?: string;
  /** Empty columns before the table (0: it starts in column A). */
  columnOffset?: number;
  /** Title rows merged across the table's width, with a stale value under the merge (default false). */
  mergeTitles?: boolean;
  /** Row labels in two merged columns, values from the column after (default false). */
  mergeLabels?: boolean;
  /** `<row r="n"/>` elements for empty rows instead of leaving them out (default false). */
  emptyRowElements?: boolean;
  /** Numeric cells a formula left a hair off the whole number (default false). */
  floatNoise?: boolean;
  /** Another sheet holding the same table after the first (default false). */
  secondTable?: boolean;
}

const xmlEscape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function columnLetters(column: number): string {
  let name = '';
  for (let n = column; n > 0; n = Math.floor((n - 1) / 26)) name = String.fromCharCode(65 + ((n - 1) % 26)) + name;
  return name;
}

export function xlsxFromText(text: string, options: XlsxOptions = {}): Uint8Array {
  const sheetName = options.sheetName ?? 'Tabell';
  const { rows } = rowsOfText(text);
  const strings: string[] = [];
  const stringIndex = new Map<string, number>();
  const shared = (s: string) => {
    let i = stringIndex.get(s);
    if (i === undefined) {
      i = strings.length;
      strings.push(s);
      stringIndex.set(s, i);
    }
    return i;
  };
  const sheets: Array<{ name: string; xml: string }> = [];
  if (options.notesSheet ?? true) {
    sheets.push({
      name: 'Om tabellene',
      xml: sheetXml(
        [['Om tabellene'], null, ['Tallene er hentet fra NAVs registre.'], ['Verdier under 4 er erstattet med «*».']],
        options,
        shared,
        false,
      ),
    });
  }
  sheets.push({ name: sheetName, xml: sheetXml(rows, options, shared, true) });
  if (options.secondTable) sheets.push({ name: `${sheetName} (2)`, xml: sheetXml(rows, options, shared, true) });
  const sst = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="${strings.length}" uniqueCount="${strings.length}">${strings
    .map((s) => `<si><t xml:space="preserve">${xmlEscape(s)}</t></si>`)
    .join('')}</sst>`;
  return workbookZip(sheets, strings.length > 0 ? sst : null);
}

/** A workbook of the given sheets' XML, with the parts Excel writes around them. */
export function workbookZip(sheets: ReadonlyArray<{ name: string; xml: string }>, sharedStringsXml: string | null): Uint8Array {
  const ns = 'http://schemas.openxmlformats.org';
  const types = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Types xmlns="${ns}/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>${sheets
    .map(
      (_, i) =>
        `<Override PartName="/xl/worksheets/sheet${i + 1}.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>`,
    )
    .join(
      '',
    )}<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/><Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>`;
  const rootRels = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="${ns}/package/2006/relationships"><Relationship Id="rId1" Type="${ns}/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>`;
  const workbook = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook xmlns="${ns}/spreadsheetml/2006/main" xmlns:r="${ns}/officeDocument/2006/relationships"><sheets>${sheets
    .map((s, i) => `<sheet name="${xmlEscape(s.name)}" sheetId="${i + 1}" r:id="rId${i + 1}"/>`)
    .join('')}</sheets></workbook>`;
  const workbookRels = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="${ns}/package/2006/relationships">${sheets
    .map(
      (_, i) =>
        `<Relationship Id="rId${i + 1}" Type="${ns}/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet${i + 1}.xml"/>`,
    )
    .join(
      '',
    )}<Relationship Id="rId${sheets.length + 1}" Type="${ns}/officeDocument/2006/relationships/styles" Target="styles.xml"/><Relationship Id="rId${sheets.length + 2}" Type="${ns}/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>`;
  const styles = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<styleSheet xmlns="${ns}/spreadsheetml/2006/main"><fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts><fills count="1"><fill><patternFill patternType="none"/></fill></fills><borders count="1"><border/></borders><cellStyleXfs count="1"><xf/></cellStyleXfs><cellXfs count="2"><xf/><xf applyAlignment="1"><alignment wrapText="1"/></xf></cellXfs></styleSheet>`;
  return zipArchive([
    { name: '[Content_Types].xml', data: types },
    { name: '_rels/.rels', data: rootRels },
    { name: 'xl/workbook.xml', data: workbook },
    { name: 'xl/_rels/workbook.xml.rels', data: workbookRels },
    { name: 'xl/styles.xml', data: styles },
    ...sheets.map((s, i) => ({ name: `xl/worksheets/sheet${i + 1}.xml`, data: s.xml })),
    ...(sharedStringsXml === null ? [] : [{ name: 'xl/sharedStrings.xml', data: sharedStringsXml }]),
  ]);
}

function sheetXml(rows: readonly SheetRow[], o: XlsxOptions, shared: (s: string) => number, table: boolean): string {
  const p = o.prefix ? `${o.prefix}:` : '';
  const offset = o.columnOffset ?? 0;
  const width = Math.max(1, ...rows.map((r) => r?.length ?? 0));
  const merges: string[] = [];
  const out: string[] = [];
  let noise = 0;
  rows.forEach((cells, i) => {
    const r = i + 1;
    if (cells === null) {
      if (o.emptyRowElements) out.push(`<${p}row r="${r}"/>`);
      return;
    }
    const labelled = table && o.mergeLabels && cells.length > 1;
    const columnOf = (k: number) => offset + 1 + k + (labelled && k > 0 ? 1 : 0);
    const ordered: Array<[number, string]> = [];
    cells.forEach((raw, k) => {
      if (raw === '') return;
      const column = columnOf(k);
      const ref = `${columnLetters(column)}${r}`;
      const wrapped = raw.includes('\n') ? ' s="1"' : '';
      if (k > 0 && NAV_NUMBER.test(raw) && (o.numbers ?? 'numeric') === 'numeric') {
        const value = Number(raw.replace(/ /g, ''));
        const stored = o.floatNoise && noise++ % 7 === 0 && value > 0 ? String(value - 2e-12 * value) : String(value);
        ordered.push([column, `<${p}c r="${ref}"><${p}v>${stored}</${p}v></${p}c>`]);
        return;
      }
      const textValue = k > 0 && NAV_NUMBER.test(raw) ? raw.replace(/ /g, '\u00a0') : raw;
      if ((o.strings ?? 'shared') === 'inline') {
        ordered.push([
          column,
          `<${p}c r="${ref}" t="inlineStr"${wrapped}><${p}is><${p}t xml:space="preserve">${xmlEscape(textValue)}</${p}t></${p}is></${p}c>`,
        ]);
      } else ordered.push([column, `<${p}c r="${ref}" t="s"${wrapped}><${p}v>${shared(textValue)}</${p}v></${p}c>`]);
    });
    if (labelled) {
      // The label's second column, covered by the merge: Excel writes it as an empty styled cell.
      ordered.push([offset + 2, `<${p}c r="${columnLetters(offset + 2)}${r}" s="1"/>`]);
      merges.push(`${columnLetters(offset + 1)}${r}:${columnLetters(offset + 2)}${r}`);
    }
    if (table && o.mergeTitles && cells.length === 1 && i === rows.findIndex((x) => x !== null)) {
      const lastColumn = columnLetters(offset + width + (o.mergeLabels ? 1 : 0));
      merges.push(`${columnLetters(offset + 1)}${r}:${lastColumn}${r}`);
      ordered.push([
        offset + 3,
        `<${p}c r="${columnLetters(offset + 3)}${r}" t="inlineStr"><${p}is><${p}t>stale text under a merge</${p}t></${p}is></${p}c>`,
      ]);
    }
    ordered.sort((a, b) => a[0] - b[0]);
    out.push(`<${p}row r="${r}">${ordered.map((c) => c[1]).join('')}</${p}row>`);
  });
  const mergeXml =
    merges.length === 0
      ? ''
      : `<${p}mergeCells count="${merges.length}">${merges.map((m) => `<${p}mergeCell ref="${m}"/>`).join('')}</${p}mergeCells>`;
  const xmlns = o.prefix ? `xmlns:${o.prefix}` : 'xmlns';
  return `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<${p}worksheet ${xmlns}="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><${p}sheetData>${out.join('')}</${p}sheetData>${mergeXml}</${p}worksheet>`;
}

// ---- delimited text ---------------------------------------------------------------------------------------------

export interface CsvOptions {
  delimiter: ';' | ',' | '\t';
  encoding?: 'utf-8' | 'utf-8-bom' | 'windows-1252' | 'utf-16le';
  eol?: '\n' | '\r\n';
  /** Counts as written (default "plain": 14402), with NBSP separators, or with a decimal comma ("14402,00"). */
  numbers?: 'plain' | 'nbsp' | 'decimal-comma' | 'as-text';
  /** Quote every cell, as some exporters do (default: only cells that need it). */
  quoteAll?: boolean;
  /** Excel's `sep=;` first line. */
  sepLine?: boolean;
}

export function csvFromText(text: string, o: CsvOptions): Uint8Array {
  const { rows, endsWithBreak } = rowsOfText(text);
  const eol = o.eol ?? '\r\n';
  const quote = (cell: string) =>
    o.quoteAll || cell.includes(o.delimiter) || cell.includes('"') || cell.includes('\n')
      ? `"${cell.replace(/"/g, '""').replace(/\n/g, eol)}"`
      : cell;
  const number = (raw: string) => {
    const digits = raw.replace(/ /g, '');
    switch (o.numbers ?? 'plain') {
      case 'plain':
        return digits;
      case 'nbsp':
        return raw.replace(/ /g, '\u00a0');
      case 'decimal-comma':
        return `${digits},00`;
      case 'as-text':
        return raw;
    }
  };
  const width = Math.max(1, ...rows.map((r) => r?.length ?? 0));
  const lines = rows.map((cells) => {
    // Spreadsheets pad every row to the table's width: an empty row is a run of delimiters.
    if (cells === null) return o.delimiter === '\t' ? '' : o.delimiter.repeat(width - 1);
    return cells.map((c, k) => quote(k > 0 && NAV_NUMBER.test(c) ? number(c) : c)).join(o.delimiter);
  });
  const body = (o.sepLine ? `sep=${o.delimiter}${eol}` : '') + lines.join(eol) + (endsWithBreak ? eol : '');
  switch (o.encoding ?? 'utf-8') {
    case 'utf-8':
      return new Uint8Array(Buffer.from(body, 'utf8'));
    case 'utf-8-bom':
      return new Uint8Array(Buffer.from(`\ufeff${body}`, 'utf8'));
    case 'windows-1252':
      return encodeWindows1252(body);
    case 'utf-16le':
      return new Uint8Array(Buffer.from(`\ufeff${body}`, 'utf16le'));
  }
}

// ---- by hand ----------------------------------------------------------------------------------------------------

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const out = process.argv[2] ?? '.';
  const seed = readFileSync(new URL('../../fixtures/nav-tiltak-fylke-2019.txt', import.meta.url), 'utf8');
  writeFileSync(join(out, 'nav-tiltak-fylke-2019.xlsx'), xlsxFromText(seed));
  writeFileSync(join(out, 'nav-tiltak-fylke-2019.csv'), csvFromText(seed, { delimiter: ';', encoding: 'windows-1252' }));
  writeFileSync(
    join(out, 'nav-tiltak-fylke-2019-unicode.txt'),
    csvFromText(seed, { delimiter: '\t', encoding: 'utf-16le', numbers: 'as-text' }),
  );
  process.stdout.write(`wrote the seed as .xlsx, ;-separated .csv and Unicode text to ${out}\n`);
}
