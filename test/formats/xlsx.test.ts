// The .xlsx front-end on the odd shapes workbooks come in, and errors that name the sheet, the row and the cell.
import { describe, expect, it } from 'vitest';
import { ParseError, parseBytes } from '../../lambdas/parser/index.ts';
import { exportText, seedText } from '../helpers/events.ts';
import { columnLetters, workbookZip, xlsxFromText } from './make-fixtures.ts';

function parseError(bytes: Uint8Array, file: string): ParseError {
  try {
    parseBytes(bytes, { file });
  } catch (e) {
    if (e instanceof ParseError) return e;
    throw e;
  }
  throw new Error('expected a ParseError');
}

/** A sheet from rows of [column, XML of the cell's content and attributes]. */
function sheet(rows: Array<[number, Array<[number, string]>]>, extra = ''): string {
  return `<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>${rows
    .map(([r, cells]) => `<row r="${r}">${cells.map(([c, xml]) => `<c r="${columnLetters(c)}${r}"${xml}</c>`).join('')}</row>`)
    .join('')}</sheetData>${extra}</worksheet>`;
}

const str = (s: string) => ` t="inlineStr"><is><t>${s}</t></is>`;
const num = (v: string) => `><v>${v}</v>`;

/** A one-section table: title, breakdown, period, heading, header, I alt and two counties, for Januar–Februar 2020. */
function tableRows(values: { oslo?: string; viken?: string } = {}): Array<[number, Array<[number, string]>]> {
  return [
    [1, [[1, str('Deltakere i arbeidsrettede tiltak. Tiltaksgruppe og fylke. Tidsserie måned')]]],
    [3, [[1, str('Fylke og tiltaksgruppe')]]],
    [5, [[1, str('Januar - Februar 2020')]]],
    // A heading wrapped in its cell: a line break, in three spellings (character, entity, OOXML escape).
    [7, [[1, str('Andre på tiltak,\njobbskaping og&#10;egenetablering_x000D_')]]],
    [
      9,
      [
        [2, str('Januar')],
        [3, str('Februar')],
      ],
    ],
    [
      10,
      [
        [1, str('I alt')],
        [2, num('30')],
        [3, num('7')],
      ],
    ],
    [
      11,
      [
        [1, str('Oslo')],
        [2, values.oslo ?? num('20')],
        [3, str('*')],
      ],
    ],
    [
      12,
      [
        [1, str('Viken')],
        [2, values.viken ?? num('10')],
        [3, num('4')],
      ],
    ],
  ];
}

describe('odd workbooks', () => {
  it('a table written by hand: inline strings, a wrapped heading, entities and escapes, "*" as text', () => {
    const { records, summary } = parseBytes(workbookZip([{ name: 'Ark1', xml: sheet(tableRows()) }], null), { file: 'hand.xlsx' });
    expect(summary).toMatchObject({ file: 'hand.xlsx:Ark1', sections: 1, records: 6, suppressed: 1, warnings: [] });
    expect(records.map((r) => [r.measure_group, r.main_group, r.region, r.period, r.value])).toEqual([
      ['Jobbskaping og egenetablering', 'Andre', 'I alt', '2020-01', 30],
      ['Jobbskaping og egenetablering', 'Andre', 'I alt', '2020-02', 7],
      ['Jobbskaping og egenetablering', 'Andre', 'Oslo', '2020-01', 20],
      ['Jobbskaping og egenetablering', 'Andre', 'Oslo', '2020-02', null],
      ['Jobbskaping og egenetablering', 'Andre', 'Viken', '2020-01', 10],
      ['Jobbskaping og egenetablering', 'Andre', 'Viken', '2020-02', 4],
    ]);
  });

  it('a notes sheet (with a period line) before the table: the table sheet is found', () => {
    const notes = sheet([
      [1, [[1, str('Om tabellene')]]],
      [2, [[1, str('Januar - Desember 2019')]]],
    ]);
    const book = workbookZip(
      [
        { name: 'Om tabellene', xml: notes },
        { name: 'Tabell', xml: sheet(tableRows()) },
      ],
      null,
    );
    expect(parseBytes(book, { file: 'b.xlsx' }).summary).toMatchObject({ file: 'b.xlsx:Tabell', records: 6 });
  });

  it('a one-month table (its header row holds a single month) after a notes sheet', () => {
    const text = exportText({ year: 2020, firstMonth: 3, lastMonth: 3 });
    const fromText = parseBytes(Buffer.from(text), { file: 'm', sourceKey: 'k' });
    const fromXlsx = parseBytes(xlsxFromText(text), { file: 'm.xlsx', sourceKey: 'k' });
    expect(fromXlsx.summary.file).toBe('m.xlsx:Tabell');
    expect(fromXlsx.records.length).toBeGreaterThan(0);
    expect(fromXlsx.records).toEqual(fromText.records);
  });

  it('numbers as text with space, NBSP or U+202F separators, numeric cells with float noise or in exponent form', () => {
    const rows = tableRows({ oslo: str('1&#160;020'), viken: num('1.0E1') });
    rows[5] = [
      10,
      [
        [1, str('I alt')],
        [2, num('1029.9999999999998')],
        [3, str('7')],
      ],
    ];
    const { records } = parseBytes(workbookZip([{ name: 'T', xml: sheet(rows) }], null), { file: 'n.xlsx' });
    expect(records.map((r) => r.value)).toEqual([1030, 7, 1020, null, 10, 4]);
  });

  it('a second sheet with a table too is not read, and a warning says so', () => {
    const { summary } = parseBytes(xlsxFromText(exportText({ year: 2020, firstMonth: 1, lastMonth: 2 }), { secondTable: true }), {
      file: 'two.xlsx',
    });
    expect(summary.warnings.filter((w) => w.code === 'IGNORED_TEXT').map((w) => [w.code, w.line, w.message])).toEqual([
      ['IGNORED_TEXT', 0, 'the sheet "Tabell (2)" also holds a table and was not read; only "Tabell" was (upload one sheet per file)'],
    ]);
  });

  it('the whole seed with shared strings is read identically from a workbook and from its text', () => {
    const fromXlsx = parseBytes(xlsxFromText(seedText()), { file: 's.xlsx', sourceKey: 'k' });
    const fromText = parseBytes(Buffer.from(seedText()), { file: 's.txt', sourceKey: 'k' });
    expect(fromXlsx.records).toEqual(fromText.records);
  });
});

describe('errors name the sheet, the row and the cell', () => {
  it('BAD_NUMBER: file "book.xlsx:Tabell", line = row, column = sheet column, the cell in the message', () => {
    const e = parseError(workbookZip([{ name: 'Tabell', xml: sheet(tableRows({ viken: str('1 2x') })) }], null), 'book.xlsx');
    expect([e.code, e.file, e.line, e.column]).toEqual(['BAD_NUMBER', 'book.xlsx:Tabell', 12, 2]);
    expect(e.message).toBe(
      'book.xlsx:Tabell:12: BAD_NUMBER: expected a whole number or "*" in Januar for "Viken", found "1 2x" (cell B12) (column 2)',
    );
  });

  it('a table that starts in column C: the cell named is where it is in the sheet', () => {
    const shifted = tableRows({ oslo: num('-3') }).map(
      ([r, cells]) => [r, cells.map(([c, xml]) => [c + 2, xml])] as [number, Array<[number, string]>],
    );
    const e = parseError(workbookZip([{ name: 'Data', xml: sheet(shifted) }], null), 'c.xlsx');
    expect([e.code, e.file, e.line, e.column]).toEqual(['BAD_NUMBER', 'c.xlsx:Data', 11, 4]);
    expect(e.detail).toContain('found "-3" (cell D11)');
  });

  it('a fractional count is BAD_NUMBER, not rounded', () => {
    const e = parseError(workbookZip([{ name: 'T', xml: sheet(tableRows({ oslo: num('20.5') })) }], null), 'f.xlsx');
    expect([e.code, e.line, e.detail]).toEqual([
      'BAD_NUMBER',
      11,
      'expected a whole number or "*" in Januar for "Oslo", found "20.5" (cell B11)',
    ]);
  });

  it('an error message that points at another line names that line as a row', () => {
    const rows = tableRows();
    rows.push([
      14,
      [
        [1, str('Oslo')],
        [2, num('1')],
        [3, num('1')],
      ],
    ]);
    const e = parseError(workbookZip([{ name: 'T', xml: sheet(rows) }], null), 'd.xlsx');
    expect([e.code, e.line]).toEqual(['DUPLICATE_REGION', 14]);
    expect(e.detail).toContain('first at line 11');
  });
});
