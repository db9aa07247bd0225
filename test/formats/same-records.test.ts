// The 2019 export as each spreadsheet download gives exactly the records its text export gives (deep-equal, but for
// source_key, which names the file), with the same summary: through parseBytes, streamed in chunks, and from disk.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FormatParser,
  type ParseResult,
  type ParseSummary,
  parseBytes,
  parseChunks,
  parseFile,
  summarizeFile,
} from '../../lambdas/parser/index.ts';
import type { Observation } from '../../lambdas/schema/columns.ts';
import { readSeed, splitAt, withoutSourceKey } from '../helpers/exports.ts';
import { type CsvOptions, type XlsxOptions, csvFromText, xlsxFromText } from './make-fixtures.ts';

const SEED_TEXT = readSeed().toString('utf8');
let text: ParseResult;

beforeAll(() => {
  text = parseBytes(readSeed(), { file: 'seed.txt' });
  expect(text.records).toHaveLength(7430);
});

/** What must not depend on the format: everything but the file's name, the encoding and where warnings point. */
function essence(summary: ParseSummary) {
  return {
    tableTitle: summary.tableTitle,
    dataset: summary.dataset,
    vintage: summary.vintage,
    sections: summary.sections,
    records: summary.records,
    suppressed: summary.suppressed,
    cutOffSections: summary.cutOffSections,
    warnings: summary.warnings.map((w) => w.code),
  };
}

function fingerprint(records: readonly Observation[], summary: ParseSummary): string {
  return JSON.stringify([records, summary]);
}

function expectSameAsText(result: ParseResult, sourceKey: string): void {
  expect(result.records.every((r) => r.source_key === sourceKey)).toBe(true);
  expect(withoutSourceKey(result.records)).toEqual(withoutSourceKey(text.records));
  expect(essence(result.summary)).toEqual(essence(text.summary));
}

const XLSX_CASES: Array<[string, XlsxOptions]> = [
  ['numeric cells, shared strings, a notes sheet first', {}],
  ['counts as text with NBSP separators, inline strings', { numbers: 'text-nbsp', strings: 'inline' }],
  ['prefixed elements, table from column C, empty <row/> elements', { prefix: 'x', columnOffset: 2, emptyRowElements: true }],
  ['merged titles over stale text, labels over two merged columns', { mergeTitles: true, mergeLabels: true }],
  ['float noise from formulas, no notes sheet', { floatNoise: true, notesSheet: false, sheetName: 'Deltakere 2019' }],
];

const CSV_CASES: Array<[string, CsvOptions]> = [
  ['; Windows-1252 CRLF, plain counts', { delimiter: ';', encoding: 'windows-1252', eol: '\r\n' }],
  [
    '; UTF-8 BOM LF, decimal commas, every cell quoted',
    { delimiter: ';', encoding: 'utf-8-bom', eol: '\n', numbers: 'decimal-comma', quoteAll: true },
  ],
  [', UTF-8 CRLF, NBSP separators', { delimiter: ',', encoding: 'utf-8', eol: '\r\n', numbers: 'nbsp' }],
  ['; with Excel sep= line', { delimiter: ';', encoding: 'windows-1252', sepLine: true }],
  ['tab, UTF-16LE (Excel Unicode text), quoted wrapped headings', { delimiter: '\t', encoding: 'utf-16le', numbers: 'as-text' }],
];

describe('an .xlsx of the 2019 export gives the text export records', () => {
  it.each(XLSX_CASES)('%s', (_, options) => {
    const bytes = xlsxFromText(SEED_TEXT, options);
    const result = parseBytes(bytes, { file: 'seed.xlsx' });
    expectSameAsText(result, 'seed.xlsx');
    expect(result.summary.file).toBe(`seed.xlsx:${options.sheetName ?? 'Tabell'}`);
    expect(result.summary.encoding).toBe('utf-8');
  });

  it('the same streamed in chunks of any size, and with countOnly', async () => {
    const bytes = xlsxFromText(SEED_TEXT);
    const records: Observation[] = [];
    const parts = splitAt(bytes, [1, 3, 4, 100, 70_000, bytes.length - 22, bytes.length - 1]);
    const summary = await parseChunks(parts, { file: 'seed.xlsx' }, (batch) => void records.push(...batch));
    expect(withoutSourceKey(records)).toEqual(withoutSourceKey(text.records));
    expect(essence(summary)).toEqual(essence(text.summary));
    const counted = new FormatParser({ file: 'seed.xlsx', countOnly: true });
    counted.write(bytes);
    expect(counted.end()).toEqual([]);
    expect(essence(counted.summary())).toEqual(essence(text.summary));
  });

  it('a warning names the sheet and its row', () => {
    // The wrapped heading of the cut-off last section is one cell, so the sheet has fewer rows than the text lines.
    const { summary } = parseBytes(xlsxFromText(SEED_TEXT), { file: 'seed.xlsx' });
    expect(text.summary.warnings.map((w) => [w.code, w.line])).toEqual([['CUT_OFF', 1042]]);
    expect(summary.warnings.map((w) => [w.code, w.line])).toEqual([['CUT_OFF', 1026]]);
  });
});

describe('delimited text of the 2019 export gives the text export records', () => {
  it.each(CSV_CASES)('%s', (_, options) => {
    const result = parseBytes(csvFromText(SEED_TEXT, options), { file: 'seed.csv' });
    expectSameAsText(result, 'seed.csv');
    // Each record is one line here, a wrapped heading three: the cut-off warning is on the text export's line.
    expect(result.summary.warnings.map((w) => [w.code, w.line])).toEqual([['CUT_OFF', 1042 + (options.sepLine ? 1 : 0)]]);
  });

  it('reports the encoding it read', () => {
    expect(parseBytes(csvFromText(SEED_TEXT, CSV_CASES[0]![1]), { file: 'a.csv' }).summary.encoding).toBe('windows-1252');
    expect(parseBytes(csvFromText(SEED_TEXT, CSV_CASES[4]![1]), { file: 'a.txt' }).summary.encoding).toBe('utf-16le');
  });

  it.each(CSV_CASES.slice(0, 3))('%s, split in the first records and elsewhere', async (_, options) => {
    const bytes = csvFromText(SEED_TEXT, options);
    const whole = parseBytes(bytes, { file: 'seed.csv' });
    // The reader's own split-anywhere tests are in delimited.test.ts; here, the first records and a few more.
    const at = [...Array.from({ length: 40 }, (_, i) => i + 1), 1_000, 2_047, 20_000, bytes.length - 1];
    const expected = fingerprint(whole.records, whole.summary);
    for (const cut of at) {
      const records: Observation[] = [];
      const summary = await parseChunks(splitAt(bytes, [cut]), { file: 'seed.csv' }, (b) => void records.push(...b));
      // Compared as one string: a deep-equal of 7,430 records per split would take the test past its budget.
      if (fingerprint(records, summary) !== expected) expect({ cut, records, summary }).toEqual({ cut, ...whole });
    }
    const records: Observation[] = [];
    const sevens = Array.from({ length: Math.floor(bytes.length / 7) }, (_, i) => (i + 1) * 7);
    const summary = await parseChunks(splitAt(bytes, sevens), { file: 'seed.csv' }, (b) => void records.push(...b));
    expect({ records, summary }).toEqual(whole);
  });
});

describe('from disk, as `navlake parse` reads them', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'navlake-formats-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('parseFile and summarizeFile take a workbook and a CSV', async () => {
    await writeFile(join(dir, 'a.xlsx'), xlsxFromText(SEED_TEXT));
    await writeFile(join(dir, 'b.csv'), csvFromText(SEED_TEXT, { delimiter: ';', encoding: 'windows-1252' }));
    for (const name of ['a.xlsx', 'b.csv']) {
      const result = await parseFile(join(dir, name));
      expectSameAsText(result, name);
      expect(essence(await summarizeFile(join(dir, name)))).toEqual(essence(text.summary));
    }
  });
});
