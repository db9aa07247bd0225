// Hostile spreadsheet downloads: mutated and truncated workbooks and CSVs end in records or a documented ParseError,
// never another exception; chunking never changes the outcome; malformed sheet XML costs time in proportion to its
// size (no rescanning from every start tag).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PARSE_ERROR_CODES, ParseError, parseBytes, parseChunks } from '../../lambdas/parser/index.ts';
import type { Observation } from '../../lambdas/schema/columns.ts';
import { exportSectionsText, seedText } from '../helpers/events.ts';
import { splitAt } from '../helpers/exports.ts';
import { csvFromText, workbookZip, xlsxFromText } from './make-fixtures.ts';

type Ending = { ok: true; records: number } | { ok: false; code: string; line: number };

function ending(bytes: Uint8Array): Ending {
  try {
    return { ok: true, records: parseBytes(bytes, { file: 'h.xlsx' }).records.length };
  } catch (e) {
    if (!(e instanceof ParseError)) throw e;
    expect(PARSE_ERROR_CODES).toContain(e.code);
    expect(e.message).not.toMatch(/[\r\n]/);
    return { ok: false, code: e.code, line: e.line };
  }
}

async function chunkedEnding(parts: Uint8Array[]): Promise<Ending> {
  try {
    const records: Observation[] = [];
    await parseChunks(parts, { file: 'h.xlsx' }, (b) => void records.push(...b));
    return { ok: true, records: records.length };
  } catch (e) {
    if (!(e instanceof ParseError)) throw e;
    return { ok: false, code: e.code, line: e.line };
  }
}

// A small table keeps each parse to a millisecond or two.
const SMALL = exportSectionsText([{ year: 2020, firstMonth: 1, lastMonth: 3 }]);
const XLSX = xlsxFromText(SMALL, { strings: 'shared' });
const CSV = csvFromText(SMALL, { delimiter: ';', encoding: 'windows-1252' });

describe('mutations', () => {
  it('a workbook with bytes changed, cut or spliced: records or a documented error, the same in chunks', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat(XLSX.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        fc.nat(XLSX.length),
        fc.nat(XLSX.length),
        async (flips, cut, split) => {
          const bytes = Uint8Array.from(XLSX.subarray(0, Math.max(1, cut === 0 ? XLSX.length : cut)));
          for (const [at, value] of flips) if (at < bytes.length) bytes[at] = value;
          const whole = ending(bytes);
          expect(await chunkedEnding(splitAt(bytes, [Math.min(split, bytes.length)]))).toEqual(whole);
        },
      ),
      { numRuns: 300, seed: 14 },
    );
  });

  it('a CSV with characters changed: records or a documented error, the same in chunks', async () => {
    const alphabet = [0x22, 0x3b, 0x0a, 0x0d, 0x09, 0x2c, 0x2a, 0x30, 0x20, 0xa0, 0xe6, 0x00];
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat(CSV.length - 1), fc.constantFrom(...alphabet)), { minLength: 1, maxLength: 6 }),
        fc.nat(CSV.length),
        async (flips, split) => {
          const bytes = Uint8Array.from(CSV);
          for (const [at, value] of flips) bytes[at] = value;
          expect(await chunkedEnding(splitAt(bytes, [split]))).toEqual(ending(bytes));
        },
      ),
      { numRuns: 300, seed: 14 },
    );
  });
});

describe('malformed sheet XML is refused in linear time', () => {
  const timeOf = (xml: string) => {
    const book = workbookZip([{ name: 'T', xml }], null);
    const started = performance.now();
    const e = ending(book);
    return { e, ms: performance.now() - started };
  };

  it.each([
    ['rows never closed', (n: number) => `<worksheet><sheetData>${'<row r="1"><c r="A1"><v>1</v></c>'.repeat(n)}</sheetData></worksheet>`],
    [
      'cells never closed',
      (n: number) => `<worksheet><sheetData><row r="1">${'<c r="A1"><v>1</v>'.repeat(n)}</row></sheetData></worksheet>`,
    ],
    [
      'values never closed',
      (n: number) => `<worksheet><sheetData><row r="1">${'<c r="A1"><v>1'.repeat(n)}</c></row></sheetData></worksheet>`,
    ],
  ])('%s', (_, make) => {
    const { e, ms } = timeOf(make(100_000));
    expect(e).toMatchObject({ ok: false, code: 'BAD_WORKBOOK', line: 0 });
    // 100,000 unclosed tags (~3 MB): quadratic rescanning would take minutes.
    expect(ms).toBeLessThan(2_000);
  });
});

describe('the whole seed survives every cut of its workbook', () => {
  it('each of 200 truncations is refused as cut off, never read as a shorter table', () => {
    const bytes = xlsxFromText(seedText());
    for (let i = 1; i <= 200; i++) {
      const cut = Math.floor((bytes.length * i) / 201);
      expect(ending(bytes.subarray(0, cut))).toMatchObject({ ok: false, code: 'BAD_WORKBOOK', line: 0 });
    }
  });
});
