// The shapes real exports come in: other encodings, line ends and thousands separators of the seed itself; chunk
// boundaries anywhere; the 2020 and 2024 county reforms with Sami names; partial periods and months in any case;
// and the two data warnings (unknown region, totals that do not add up).
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ParseSummary } from '../../lambdas/parser/index.ts';
import type { Observation } from '../../lambdas/schema/columns.ts';
import {
  MEASURES,
  MONTHS,
  SEED_FILE,
  TITLES,
  countiesFor,
  countySection,
  encodeText,
  expectSame,
  expectedRecords,
  parseChunked,
  parseWhole,
  readSeed,
  renderExport,
  singleBytes,
  splitAt,
  vintageOf,
  withLineEnds,
  withThousandsSeparator,
  withoutSourceKey,
  type CountySectionOptions,
  type ExportSpec,
  type LineEnd,
  type MainGroup,
  type Outcome,
  type RowSpec,
  type SectionSpec,
  type TextEncoding,
} from '../helpers/exports.ts';

function ok(outcome: Outcome): { records: Observation[]; summary: ParseSummary } {
  if (!outcome.ok) throw new Error(`expected a parse, got ${outcome.error.message}`);
  return outcome;
}

const [DELTAKERE, ARBEIDSSOKERE, ETTER_FYLKE] = TITLES as [(typeof TITLES)[0], (typeof TITLES)[0], (typeof TITLES)[0]];
const measure = (group: string) => MEASURES.find((m) => m.group === group) ?? MEASURES[0]!;

/** Values that look like NAV's: thousands somewhere, small counts, and the odd "*". */
function values(rows: number, months: number, seed: number): Array<Array<number | null>> {
  // Park-Miller: exact in doubles, and the same values on every run.
  let x = (seed % 2147483646) + 1;
  const next = () => (x = (x * 48271) % 2147483647);
  return Array.from({ length: rows }, () =>
    Array.from({ length: months }, () => {
      const r = next() % 100;
      return r < 8 ? null : r < 30 ? next() % 100 : next() % 25_000;
    }),
  );
}

/** Adds a row to a section built by countySection, keeping its "I alt" row the sum. */
function addRow(section: SectionSpec, row: RowSpec): void {
  const total = section.rows[0];
  if (total) total.values = total.values.map((v, i) => (v === null ? v : v + (row.values[i] ?? 0)));
  section.rows.push(row);
}

function lineOf(text: string, startsWith: string, nth = 1): number {
  const lines = text.split('\n');
  let seen = 0;
  const i = lines.findIndex((l) => l.startsWith(startsWith) && ++seen === nth);
  if (i === -1) throw new Error(`no line starting with ${startsWith}`);
  return i + 1;
}

describe('the seed re-encoded', () => {
  let seedText: string;
  let seed: { records: Observation[]; summary: ParseSummary };

  beforeAll(() => {
    const bytes = readSeed();
    seedText = bytes.toString('utf8');
    seed = ok(parseWhole(bytes, SEED_FILE));
  });

  const VARIANTS: Array<{ name: string; encoding: TextEncoding; eol?: LineEnd; separator?: string; detected: string }> = [
    { name: 'UTF-8 with BOM', encoding: 'utf-8-bom', detected: 'utf-8' },
    { name: 'UTF-16LE with BOM (Excel "Unicode text")', encoding: 'utf-16le', detected: 'utf-16le' },
    { name: 'UTF-16BE with BOM', encoding: 'utf-16be', detected: 'utf-16be' },
    { name: 'Windows-1252', encoding: 'windows-1252', detected: 'windows-1252' },
    { name: 'CRLF', encoding: 'utf-8', eol: '\r\n', detected: 'utf-8' },
    { name: 'CR only', encoding: 'utf-8', eol: '\r', detected: 'utf-8' },
    { name: 'UTF-16LE with CRLF', encoding: 'utf-16le', eol: '\r\n', detected: 'utf-16le' },
    { name: 'Windows-1252 with CRLF', encoding: 'windows-1252', eol: '\r\n', detected: 'windows-1252' },
    { name: 'NBSP separators', encoding: 'utf-8', separator: '\u00a0', detected: 'utf-8' },
    { name: 'NBSP separators in Windows-1252', encoding: 'windows-1252', separator: '\u00a0', detected: 'windows-1252' },
    { name: 'U+202F separators', encoding: 'utf-8', separator: '\u202f', detected: 'utf-8' },
    { name: 'U+202F separators in UTF-16BE with CR', encoding: 'utf-16be', separator: '\u202f', eol: '\r', detected: 'utf-16be' },
  ];

  it.each(VARIANTS)("$name gives the seed's records and summary", (v) => {
    // Prepare
    let text = seedText;
    if (v.separator) text = withThousandsSeparator(text, v.separator);
    if (v.eol) text = withLineEnds(text, v.eol);
    const bytes = encodeText(text, v.encoding);
    if (v.separator) expect(text).toContain(`14${v.separator}402`);
    // Act
    const parsed = ok(parseWhole(bytes, `variant.txt`));
    // Assess
    expect(withoutSourceKey(parsed.records)).toEqual(withoutSourceKey(seed.records));
    expect(parsed.summary).toEqual({ ...seed.summary, file: 'variant.txt', encoding: v.detected });
  });

  it('in any three chunks, UTF-8 or UTF-16LE', () => {
    const utf8 = readSeed();
    const utf16 = encodeText(seedText, 'utf-16le');
    const whole16 = parseWhole(utf16, SEED_FILE);
    const whole8: Outcome = { ok: true, ...seed };
    fc.assert(
      fc.property(fc.boolean(), fc.uniqueArray(fc.nat(), { minLength: 2, maxLength: 2 }), (wide, cuts) => {
        const bytes = wide ? utf16 : utf8;
        const at = cuts.map((c) => c % bytes.length).sort((a, b) => a - b);
        expectSame(parseChunked(splitAt(bytes, at), SEED_FILE), wide ? whole16 : whole8, { at });
      }),
      { numRuns: 20 },
    );
  });
});

/** A county section with NAV-like values; `more` sets anything else (extra rows, Sami forms, spellings). */
function section(
  year: number,
  [first, last]: [number, number],
  main: MainGroup,
  group: string,
  more: Partial<CountySectionOptions> = {},
): SectionSpec {
  const rows = countiesFor(year).length + (more.extraRows?.length ?? 0);
  const seed = [...`${year}${main}${group}`].reduce((h, c) => (h * 31 + c.charCodeAt(0)) % 1_000_003, 7);
  const generated = values(rows, last - first + 1, seed);
  return countySection({ year, firstMonth: first, lastMonth: last, main, measure: measure(group), values: generated, ...more });
}

/**
 * A small export with most of what the parser handles: notes, three sections (one with a wrapped heading), Sami
 * names, non-ASCII everywhere, an unknown region, and a cut in the last row, so that records and warnings both
 * have to survive every chunking.
 */
function smallExport(): { text: string; spec: ExportSpec } {
  const sections = [
    section(2020, [1, 2], 'I alt', 'Opplæring', { sami: (c) => ({ length: 40, trailingSpaces: c === 'Oslo' ? 2 : 0 }) }),
    section(2020, [1, 2], 'Arbeidssøkere', 'Lønnstilskudd', {
      headingLines: ['Arbeidssøkere på tiltak,', 'lønnstilskudd'],
      extraRows: ['Ukjent'],
    }),
    section(2020, [1, 2], 'Andre', 'Avklaringstiltak', { sami: () => ({ length: 5, trailingSpaces: 1 }) }),
  ];
  addRow(sections[2]!, { label: 'Hedmark', region: 'Hedmark', code: null, values: [3456, 1234] });
  const spec: ExportSpec = { ...ETTER_FYLKE, vintage: '2020-02', notes: true, sections };
  // The download stopped inside the last number: "1 234" became "1 2".
  const text = renderExport(spec).replace(/\t1 234\n$/, '\t1 2');
  return { text, spec };
}

describe('every chunking of a small export', () => {
  const { text, spec } = smallExport();

  it('parses to the records written, with the unknown region and the cut reported', () => {
    const parsed = ok(parseWhole(Buffer.from(text), 'small.txt'));
    const expected = expectedRecords(spec, 'small.txt');
    // The cut row keeps its January value; its February value lost digits and is dropped.
    expect(parsed.records).toEqual(expected.slice(0, -1));
    expect(parsed.summary.warnings.map((w) => [w.code, w.section])).toEqual([
      ['UNKNOWN_REGION', 3],
      ['CUT_OFF', 3],
    ]);
    expect(parsed.summary.warnings[1]?.message).toContain('cut off in the row "Hedmark": 1 of 2 values read');
  });

  const CASES: Array<{ name: string; encoding: TextEncoding; eol: LineEnd; separator?: string }> = [
    { name: 'UTF-8, LF', encoding: 'utf-8', eol: '\n' },
    { name: 'UTF-8, CRLF', encoding: 'utf-8', eol: '\r\n' },
    { name: 'UTF-16LE, CRLF', encoding: 'utf-16le', eol: '\r\n' },
    { name: 'Windows-1252, CR, NBSP', encoding: 'windows-1252', eol: '\r', separator: '\u00a0' },
  ];

  it.each(CASES)('$name: two chunks split at every byte, and one byte at a time', (c) => {
    // Prepare
    const variant = withLineEnds(c.separator ? withThousandsSeparator(text, c.separator) : text, c.eol);
    const bytes = encodeText(variant, c.encoding);
    const whole = parseWhole(bytes, 'small.txt');
    // Act, Assess
    expect(withoutSourceKey(ok(whole).records)).toEqual(withoutSourceKey(ok(parseWhole(Buffer.from(text), 'small.txt')).records));
    expect(parseChunked(singleBytes(bytes), 'small.txt')).toEqual(whole);
    for (let at = 0; at <= bytes.length; at++) expectSame(parseChunked(splitAt(bytes, [at]), 'small.txt'), whole, { at });
  });
});

describe('the 2020 and 2024 county reforms', () => {
  const CODES_2020 = {
    'I alt': null,
    Viken: '30',
    Oslo: '03',
    Innlandet: '34',
    'Vestfold og Telemark': '38',
    Agder: '42',
    Rogaland: '11',
    Vestland: '46',
    'Møre og Romsdal': '15',
    Trøndelag: '50',
    Nordland: '18',
    'Troms og Finnmark': '54',
    'Øvrige områder': null,
    Ukjent: null,
  };
  const CODES_2024 = {
    'I alt': null,
    Østfold: '31',
    Akershus: '32',
    Oslo: '03',
    Innlandet: '34',
    Buskerud: '33',
    Vestfold: '39',
    Telemark: '40',
    Agder: '42',
    Rogaland: '11',
    Vestland: '46',
    'Møre og Romsdal': '15',
    Trøndelag: '50',
    Nordland: '18',
    Troms: '55',
    Finnmark: '56',
    Ukjent: null,
  };

  it('2020: the new counties get their codes; Sami forms, cut or padded, are stripped', () => {
    // Prepare
    const forms: Record<string, { length: number; trailingSpaces: number }> = {
      Trøndelag: { length: 99, trailingSpaces: 0 }, // "Trøndelag - Trööndelage"
      'Troms og Finnmark': { length: 8, trailingSpaces: 0 }, // "Troms og Finnmark - Romsa ja"
      Oslo: { length: 99, trailingSpaces: 3 }, // "Oslo - Oslove   "
      Nordland: { length: 0, trailingSpaces: 1 }, // "Nordland - ", cut right after the dash
    };
    const sami = (c: string) => forms[c] ?? null;
    const spec: ExportSpec = {
      ...DELTAKERE,
      vintage: '2020-12',
      notes: true,
      sections: [
        section(2020, [1, 12], 'I alt', 'Opplæring', { extraRows: ['Øvrige områder', 'Ukjent'], sami }),
        section(2020, [1, 12], 'Nedsatt arbeidsevne', 'Tilrettelagt arbeid', {
          extraRows: ['Ukjent'],
          sami,
          headingLines: ['Nedsatt arbeidsevne, på tiltak,', 'tilrettelagt arbeid'],
        }),
      ],
    };
    const text = renderExport(spec);
    expect(text).toContain('\nTroms og Finnmark - Romsa ja\t');
    expect(text).toContain('\nOslo - Oslove   \t');
    // Act
    const parsed = ok(parseWhole(encodeText(text, 'utf-16le'), 'nav-2020.txt'));
    // Assess
    expect(parsed.records).toEqual(expectedRecords(spec, 'nav-2020.txt'));
    expect(Object.fromEntries(parsed.records.map((r) => [r.region, r.region_code]))).toEqual(CODES_2020);
    expect(parsed.summary.warnings).toEqual([]);
    expect(parsed.summary.sections).toBe(2);
  });

  it('2024: the split counties get their new codes, also with two-part Sami and Kven forms', () => {
    const forms: Record<string, { length: number; trailingSpaces: number }> = {
      Troms: { length: 99, trailingSpaces: 0 }, // "Troms - Romsa - Tromssa"
      Finnmark: { length: 99, trailingSpaces: 2 }, // "Finnmark - Finnmárku - Finmarkku  "
      Trøndelag: { length: 8, trailingSpaces: 0 }, // "Trøndelag - Trööndel"
      Oslo: { length: 99, trailingSpaces: 0 },
    };
    const spec: ExportSpec = {
      ...ARBEIDSSOKERE,
      vintage: '2024-06',
      sections: (['I alt', 'Arbeidssøkere', 'Andre'] as const).map((main) =>
        section(2024, [1, 6], main, 'Arbeidspraksis', { extraRows: ['Ukjent'], sami: (c) => forms[c] ?? null }),
      ),
    };
    const text = renderExport(spec);
    expect(text).toContain('\nTroms - Romsa - Tromssa\t');
    const parsed = ok(parseWhole(encodeText(text, 'windows-1252'), 'nav-2024.txt'));
    expect(parsed.summary.encoding).toBe('windows-1252');
    expect(parsed.records).toEqual(expectedRecords(spec, 'nav-2024.txt'));
    expect(Object.fromEntries(parsed.records.map((r) => [r.region, r.region_code]))).toEqual(CODES_2024);
    expect(parsed.summary.warnings).toEqual([]);
  });

  it('a county name is coded by the year of the value: Viken in 2023 but not in 2024', () => {
    const viken = (year: number): SectionSpec => {
      const s = section(year, [1, 1], 'I alt', 'Oppfølging');
      if (year >= 2024) addRow(s, { label: 'Viken', region: 'Viken', code: null, values: [12] });
      return s;
    };
    const parse = (year: number) =>
      ok(parseWhole(Buffer.from(renderExport({ ...DELTAKERE, vintage: `${year}-01`, sections: [viken(year)] }))));
    const r2023 = parse(2023);
    expect(r2023.records.find((r) => r.region === 'Viken')?.region_code).toBe('30');
    expect(r2023.summary.warnings).toEqual([]);
    const r2024 = parse(2024);
    expect(r2024.records.find((r) => r.region === 'Viken')?.region_code).toBeNull();
    expect(r2024.summary.warnings.map((w) => w.code)).toEqual(['UNKNOWN_REGION']);
  });
});

describe('periods', () => {
  it('"Januar - Mars 2020": a partial period with three month columns', () => {
    const spec: ExportSpec = { ...DELTAKERE, vintage: '2020-03', sections: [section(2020, [1, 3], 'I alt', 'Opplæring')] };
    const text = renderExport(spec);
    expect(text).toContain('\nJanuar - Mars 2020\n');
    expect(text).toContain('\n\tJanuar\tFebruar\tMars\n');
    const parsed = ok(parseWhole(Buffer.from(text)));
    expect(parsed.records).toEqual(expectedRecords(spec, 'export.txt'));
    expect(new Set(parsed.records.map((r) => r.period))).toEqual(new Set(['2020-01', '2020-02', '2020-03']));
    expect(parsed.summary).toMatchObject({ vintage: '2020-03', warnings: [] });
  });

  it('"januar - AUGUST 2026": months in any case, in the period line and the header row', () => {
    const headerMonths = ['JANUAR', 'februar', 'Mars', 'APRIL', 'mai', 'Juni', 'jULI', 'AuGuSt'];
    const spec: ExportSpec = {
      ...DELTAKERE,
      vintage: '2026-08',
      sections: ['Avklaringstiltak', 'Oppfølging'].map((group, i) =>
        section(2026, [1, 8], 'I alt', group, { periodLine: 'januar - AUGUST 2026', headerMonths, trailingTab: i === 1 }),
      ),
    };
    const parsed = ok(parseWhole(Buffer.from(renderExport(spec))));
    expect(parsed.records).toEqual(expectedRecords(spec, 'export.txt'));
    expect(parsed.records.map((r) => r.month).slice(0, 8)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(parsed.summary).toMatchObject({ vintage: '2026-08', warnings: [] });
  });

  it('a single month, and a period that starts after January', () => {
    for (const [year, first, last, periodLine] of [
      [2021, 3, 3, 'Mars 2021'],
      [2022, 4, 6, 'April - juni 2022'],
    ] as const) {
      const spec: ExportSpec = {
        ...DELTAKERE,
        vintage: vintageOf(year, last),
        sections: [section(year, [first, last], 'Andre', 'Opplæring', { periodLine })],
      };
      const parsed = ok(parseWhole(Buffer.from(renderExport(spec))));
      expect(parsed.records).toEqual(expectedRecords(spec, 'export.txt'));
      expect(parsed.records[0]).toMatchObject({ month: first, period: `${year}-0${first}`, source_vintage: vintageOf(year, last) });
      expect(parsed.summary.warnings).toEqual([]);
    }
  });
});

describe('encoding detection', () => {
  it('strict UTF-8 wins over Windows-1252; a lone high byte makes the file Windows-1252; pure ASCII is UTF-8', () => {
    const body = (sep: string) =>
      `Deltakere etter fylke\n\nFylke\n\nJanuar 2020\n\nOpplaering\n\n\tJanuar\nI alt\t1${sep}234\nOslo\t1${sep}234\n`;
    const nbsp1252 = ok(parseWhole(encodeText(body('\u00a0'), 'windows-1252')));
    expect(nbsp1252.summary.encoding).toBe('windows-1252');
    expect(nbsp1252.records.map((r) => r.value)).toEqual([1234, 1234]);
    const nbspUtf8 = ok(parseWhole(encodeText(body('\u00a0'), 'utf-8')));
    expect(nbspUtf8.summary.encoding).toBe('utf-8');
    expect(nbspUtf8.records).toEqual(nbsp1252.records);
    expect(ok(parseWhole(Buffer.from(body(' ')))).summary.encoding).toBe('utf-8');
  });
});

describe('data warnings', () => {
  it("UNKNOWN_REGION: once per name and year, on the row's line, with a null region_code", () => {
    // Prepare
    const sections = ['Opplæring', 'Avklaringstiltak'].map((group) =>
      section(2019, [1, 2], 'I alt', group, { extraRows: ['Øvrige områder', 'Ukjent'] }),
    );
    for (const s of sections) addRow(s, { label: 'Viken - Viken', region: 'Viken', code: null, values: [5, 6] });
    const spec: ExportSpec = { ...DELTAKERE, vintage: '2019-02', sections };
    const text = renderExport(spec);
    // Act
    const parsed = ok(parseWhole(Buffer.from(text), 'unknown.txt'));
    // Assess
    expect(parsed.records).toEqual(expectedRecords(spec, 'unknown.txt'));
    expect(parsed.summary.warnings).toEqual([
      {
        code: 'UNKNOWN_REGION',
        line: lineOf(text, 'Viken'),
        section: 1,
        message: '"Viken" is not a county of 2019; its region_code is null',
      },
    ]);
  });

  it('TOTALS_MISMATCH: names the section, the month and the difference, either way', () => {
    // Prepare
    // Nothing suppressed, so that every month is checked.
    const sections = ['Opplæring', 'Avklaringstiltak'].map((group, i) =>
      section(2020, [1, 4], 'Arbeidssøkere', group, { values: values(11, 4, 70 + i).map((r) => r.map((v) => v ?? 9)) }),
    );
    const totals = sections[1]!.rows[0]!.values as number[];
    const [marchSum, aprilSum] = [totals[2]!, totals[3]!];
    totals[2] = marchSum + 7;
    totals[3] = aprilSum - 3;
    const spec: ExportSpec = { ...DELTAKERE, vintage: '2020-04', sections };
    const text = renderExport(spec);
    // Act
    const parsed = ok(parseWhole(Buffer.from(text), 'totals.txt'));
    // Assess: the records are as printed; the warning is about the section, which starts at its title line.
    expect(parsed.records).toEqual(expectedRecords(spec, 'totals.txt'));
    const at = lineOf(text, DELTAKERE.title, 2);
    const about = `section 2 (Arbeidssøkere på tiltak, avklaringstiltak)`;
    expect(parsed.summary.warnings).toEqual([
      {
        code: 'TOTALS_MISMATCH',
        line: at,
        section: 2,
        message: `${about}, ${MONTHS[2]} 2020: regions add up to ${marchSum}, "I alt" says ${marchSum + 7} (difference 7)`,
      },
      {
        code: 'TOTALS_MISMATCH',
        line: at,
        section: 2,
        message: `${about}, ${MONTHS[3]} 2020: regions add up to ${aprilSum}, "I alt" says ${aprilSum - 3} (difference -3)`,
      },
    ]);
  });

  it('TOTALS_MISMATCH is not raised for a month with a suppressed value', () => {
    const s = section(2020, [1, 2], 'I alt', 'Opplæring', {
      values: Array.from({ length: 11 }, (_, i) => [i === 4 ? null : 100 + i, 200 + i]),
    });
    // countySection puts the hidden small counts into "I alt" for January (sum + 5), as NAV's totals do.
    expect(s.rows[0]?.values[0]).toBe(s.rows.slice(1).reduce((a, r) => a + (r.values[0] ?? 0), 0) + 5);
    const parsed = ok(parseWhole(Buffer.from(renderExport({ ...DELTAKERE, vintage: '2020-02', sections: [s] }))));
    expect(parsed.summary.warnings).toEqual([]);
  });
});
