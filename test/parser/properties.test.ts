// Properties over generated exports and over every kind of truncation of the seed.
//
// Round trip: an export built from random sections, periods, values and spellings parses to exactly the values
// written. Truncation: any byte-prefix of the seed (a download that stopped) either fails with a typed ParseError or
// yields a prefix of the full parse's records, never a wrong value, and says so with a warning whenever the cut
// falls inside a section's rows.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { PARSE_ERROR_CODES, type ParseSummary, type ParseWarning } from '../../lambdas/parser/index.ts';
import type { Observation } from '../../lambdas/schema/columns.ts';
import {
  MAIN_GROUPS,
  MEASURES,
  MONTHS,
  SAMI_NAMES,
  SEED_FILE,
  TEXT_ENCODINGS,
  TITLES,
  countiesFor,
  countySection,
  encodeText,
  expectSame,
  expectedRecords,
  headingOf,
  parseChunked,
  parseWhole,
  readSeed,
  renderExport,
  splitAt,
  vintageOf,
  type ExportSpec,
  type LineEnd,
  type Outcome,
  type SectionSpec,
  type TextEncoding,
} from '../helpers/exports.ts';

fc.configureGlobal({ numRuns: 100 });

function ok(outcome: Outcome): { records: Observation[]; summary: ParseSummary } {
  if (!outcome.ok) throw new Error(`expected a parse, got ${outcome.error.message}`);
  return outcome;
}

// ---- round trip -------------------------------------------------------------------------------------------------

type Case = 'Capital' | 'lower' | 'UPPER' | 'aLtErNaTe';

function spell(word: string, c: Case): string {
  switch (c) {
    case 'Capital':
      return word;
    case 'lower':
      return word.toLowerCase();
    case 'UPPER':
      return word.toUpperCase();
    case 'aLtErNaTe':
      return [...word].map((ch, i) => (i % 2 ? ch.toUpperCase() : ch.toLowerCase())).join('');
  }
}

const MAX_ROWS = 21; // 19 counties before 2018, plus "Øvrige områder" and "Ukjent"
const SAMI_COUNTIES = Object.keys(SAMI_NAMES);

const valueArb = fc.oneof(
  { arbitrary: fc.constant(null), weight: 1 },
  { arbitrary: fc.integer({ min: 0, max: 999 }), weight: 3 },
  { arbitrary: fc.integer({ min: 1000, max: 3_000_000 }), weight: 2 },
);

const sectionArb = fc.record({
  main: fc.constantFrom(...MAIN_GROUPS),
  measure: fc.constantFrom(...MEASURES),
  breaks: fc.uniqueArray(fc.integer({ min: 1, max: 6 }), { maxLength: 2 }),
  values: fc.array(fc.array(valueArb, { minLength: 12, maxLength: 12 }), { minLength: MAX_ROWS, maxLength: MAX_ROWS }),
  extraRows: fc.subarray(['Øvrige områder', 'Ukjent'] as const),
  sami: fc.array(fc.option(fc.record({ length: fc.nat(25), trailingSpaces: fc.nat(3) })), {
    minLength: SAMI_COUNTIES.length,
    maxLength: SAMI_COUNTIES.length,
  }),
  headerCase: fc.constantFrom<Case>('Capital', 'lower', 'UPPER', 'aLtErNaTe'),
  trailingTab: fc.boolean(),
});

const exportArb = fc.record({
  title: fc.constantFrom(...TITLES),
  year: fc.integer({ min: 2015, max: 2027 }),
  months: fc.tuple(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 12 })),
  periodCase: fc.constantFrom<Case>('Capital', 'lower', 'UPPER', 'aLtErNaTe'),
  periodStyle: fc.constantFrom('spaced', 'tight', 'single'),
  // An export lists each section once (a repeat is a REPEATED_SECTION error, tested in errors.test.ts).
  sections: fc.uniqueArray(sectionArb, { minLength: 1, maxLength: 4, selector: (s) => `${s.main}|${s.measure.printed}` }),
  separator: fc.constantFrom(' ', '\u00a0', '\u202f', ''),
  eol: fc.constantFrom<LineEnd>('\n', '\r\n', '\r'),
  encoding: fc.constantFrom(...TEXT_ENCODINGS),
  notes: fc.boolean(),
  leadingBlankLines: fc.nat(4),
  gap: fc.integer({ min: 1, max: 3 }),
  finalNewline: fc.boolean(),
  cuts: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 3 }),
});

type ExportInput = typeof exportArb extends fc.Arbitrary<infer T> ? T : never;

function buildSpec(g: ExportInput): { spec: ExportSpec; encoding: TextEncoding } {
  const [first, last] = g.months[0] <= g.months[1] ? g.months : [g.months[1], g.months[0]];
  const m = (n: number) => spell(MONTHS[n - 1] ?? '', g.periodCase);
  const periodLine =
    g.periodStyle === 'single' && first === last
      ? `${m(first)} ${g.year}`
      : g.periodStyle === 'tight'
        ? `${m(first)}-${m(last)} ${g.year}`
        : `${m(first)} - ${m(last)} ${g.year}`;
  const sections: SectionSpec[] = g.sections.map((s) => {
    const words = headingOf(s.main, s.measure.printed).split(' ');
    const cuts = s.breaks.filter((b) => b < words.length).sort((a, b) => a - b);
    const headingLines = [0, ...cuts].map((from, i) => words.slice(from, cuts[i] ?? words.length).join(' '));
    return countySection({
      year: g.year,
      firstMonth: first,
      lastMonth: last,
      main: s.main,
      measure: s.measure,
      values: s.values.map((row) => row.slice(first - 1, last)),
      extraRows: s.extraRows,
      periodLine,
      headerMonths: MONTHS.slice(first - 1, last).map((name) => spell(name, s.headerCase)),
      headingLines,
      sami: (county) => s.sami[SAMI_COUNTIES.indexOf(county)] ?? null,
      trailingTab: s.trailingTab,
    });
  });
  // U+202F has no Windows-1252 byte; such a file would be UTF-8 or UTF-16.
  const encoding = g.separator === '\u202f' && g.encoding === 'windows-1252' ? 'utf-16le' : g.encoding;
  return {
    encoding,
    spec: {
      ...g.title,
      vintage: vintageOf(g.year, last),
      notes: g.notes,
      leadingBlankLines: g.leadingBlankLines,
      gap: g.gap,
      separator: g.separator,
      sections,
      eol: g.eol,
      finalNewline: g.finalNewline,
    },
  };
}

/**
 * The MAIN_GROUP_MISMATCH warnings the spec must raise: per measure and month, the main groups' totals against the
 * all-groups total, each from the last section that gave it (as in a real export, each appears once).
 */
function mainGroupMismatches(spec: ExportSpec): number {
  type Totals = Array<number | null>;
  const byMeasure = new Map<string, { all?: Totals; mains: Map<string, Totals> }>();
  for (const s of spec.sections) {
    const entry = byMeasure.get(s.measureGroup) ?? { mains: new Map<string, Totals>() };
    byMeasure.set(s.measureGroup, entry);
    const totals = s.rows[0]?.values ?? [];
    if (s.mainGroup === 'I alt') entry.all = totals;
    else entry.mains.set(s.mainGroup, totals);
  }
  let n = 0;
  for (const { all, mains } of byMeasure.values()) {
    if (!all || mains.size < 3) continue;
    all.forEach((total, i) => {
      const parts = [...mains.values()].map((t) => t[i] ?? null);
      if (total === null || parts.some((p) => p === null)) return;
      if (parts.reduce<number>((a, p) => a + (p ?? 0), 0) !== total) n++;
    });
  }
  return n;
}

describe('round trip', () => {
  it('a generated export parses to exactly the values written, in order, with the right region codes', () => {
    fc.assert(
      fc.property(exportArb, (g) => {
        // Prepare
        const { spec, encoding } = buildSpec(g);
        const bytes = encodeText(renderExport(spec), encoding);
        const at = [...new Set(g.cuts.map((c) => Math.floor(c * bytes.length)))].sort((a, b) => a - b);
        let expected = expectedRecords(spec, 'generated.txt');
        // A last line without a line break may have lost digits of its last number: it is kept only when it is
        // "*" or the month's "I alt" vouches for it (nothing suppressed in that month of that section).
        const lastSection = spec.sections.at(-1) as SectionSpec;
        const lastValue = expected.at(-1)?.value ?? null;
        const lastColumn = lastSection.rows.map((r) => r.values.at(-1) ?? null);
        const dropped = !g.finalNewline && lastValue !== null && lastColumn.includes(null);
        if (dropped) expected = expected.slice(0, -1);
        const earlierRows = Math.max(0, ...spec.sections.slice(0, -1).map((s) => s.rows.length));
        const cut = !g.finalNewline && (dropped || lastSection.rows.length < earlierRows);
        // Act
        const parsed = ok(parseChunked(splitAt(bytes, at), 'generated.txt'));
        // Assess
        expect(parsed.records).toEqual(expected);
        const codes = (w: readonly ParseWarning[], code: string) => w.filter((x) => x.code === code).length;
        expect(codes(parsed.summary.warnings, 'CUT_OFF') > 0).toBe(cut);
        expect(codes(parsed.summary.warnings, 'MAIN_GROUP_MISMATCH')).toBe(mainGroupMismatches(spec));
        expect(parsed.summary.warnings.filter((w) => w.code !== 'CUT_OFF' && w.code !== 'MAIN_GROUP_MISMATCH')).toEqual([]);
        expect(parsed.summary).toMatchObject({ sections: spec.sections.length, vintage: spec.vintage, dataset: spec.dataset });
        for (const r of parsed.records) {
          const county = countiesFor(r.year).find((c) => c.name === r.region);
          expect(r.region_code).toBe(county ? county.code : null);
        }
      }),
    );
  });
});

// ---- truncation -------------------------------------------------------------------------------------------------

/** Index of the first record of `part` that differs from `whole` at the same index, or -1. */
function firstDifference(part: readonly Observation[], whole: readonly Observation[]): number {
  // Unrolled: this runs over thousands of records for each of thousands of cuts.
  for (let i = 0; i < part.length; i++) {
    const a = part[i] as Observation;
    const b = whole[i];
    if (
      !b ||
      a.value !== b.value ||
      a.suppressed !== b.suppressed ||
      a.month !== b.month ||
      a.region !== b.region ||
      a.region_code !== b.region_code ||
      a.measure_group !== b.measure_group ||
      a.main_group !== b.main_group ||
      a.breakdown !== b.breakdown ||
      a.year !== b.year ||
      a.period !== b.period ||
      a.dataset !== b.dataset ||
      a.table_title !== b.table_title ||
      a.source_key !== b.source_key ||
      a.source_vintage !== b.source_vintage ||
      a.ingested_at !== b.ingested_at
    ) {
      return i;
    }
  }
  return -1;
}

interface SeedLayout {
  bytes: Buffer;
  full: Observation[];
  /** [from, to): cuts in here fall inside a section's rows (after its header row starts, before its last row ends). */
  rowSpans: Array<[number, number]>;
  /** Offsets just past each row's line break, with the records complete by then. */
  complete: Array<[number, number]>;
  /** Offsets of every line break. */
  breaks: number[];
  /** Where the first header row's text ends: a cut before it leaves no table (an error); a cut after, a table. */
  firstHeaderEnd: number;
}

/** Where the seed's sections and rows are, worked out from its bytes (not from the parser). */
function layoutOf(bytes: Buffer, full: Observation[]): SeedLayout {
  const rowSpans: Array<[number, number]> = [];
  const complete: Array<[number, number]> = [];
  const breaks: number[] = [];
  let records = 0;
  let months = 0;
  let span: [number, number] | null = null;
  let cells = false;
  let firstHeaderEnd = -1;
  let start = 0;
  while (start <= bytes.length) {
    let end = bytes.indexOf(0x0a, start);
    const terminated = end !== -1;
    if (!terminated) end = bytes.length;
    else breaks.push(end);
    const line = bytes.subarray(start, end).toString('utf8');
    const after = terminated ? end + 1 : end;
    if (line.startsWith('\t')) {
      months = line.split('\t').length - 1;
      if (firstHeaderEnd === -1) firstHeaderEnd = end;
      span = [start + 1, end];
      rowSpans.push(span);
    } else if (line.includes('\t') && span) {
      span[1] = end;
      records += months;
      complete.push([after, records]);
    } else if (line === '' && span) {
      span = null;
    } else if (!cells && /^januar$/i.test(line)) {
      // The seed's last section switches to one value per line, and is cut off: every cut in it is inside its rows.
      cells = true;
      rowSpans.push([start + 1, bytes.length + 1]);
    } else if (cells && line === '*') {
      records += 1;
      complete.push([after, records]);
    }
    if (!terminated) break;
    start = end + 1;
  }
  expect(records).toBe(full.length);
  return { bytes, full, rowSpans, complete, breaks, firstHeaderEnd };
}

/** Checks the truncation property for the seed cut at `at` bytes; returns the outcome for further checks. */
function checkPrefix(seed: SeedLayout, at: number): Outcome {
  const outcome = parseWhole(seed.bytes.subarray(0, at), SEED_FILE);
  if (!outcome.ok) {
    expect(PARSE_ERROR_CODES).toContain(outcome.error.code);
    // Once a table has begun, a cut loses at most the row it falls in, never the whole file.
    if (at >= seed.firstHeaderEnd) expect({ at, error: outcome.error }).toBeNull();
    return outcome;
  }
  const { records, summary } = outcome;
  const diff = firstDifference(records, seed.full);
  if (diff !== -1) {
    expect({ at, index: diff, record: records[diff] }).toEqual({ at, index: diff, record: seed.full[diff] });
  }
  // Every row whose line break came before the cut is there.
  let completeBefore = 0;
  for (const [offset, n] of seed.complete) if (offset <= at) completeBefore = n;
  if (records.length < completeBefore) expect({ at, records: records.length }).toEqual({ at, records: completeBefore });
  expect(summary.records).toBe(records.length);
  const inRows = seed.rowSpans.some(([from, to]) => at >= from && at < to);
  if (inRows && summary.warnings.length === 0) expect({ at, warnings: summary.warnings }).toEqual({ at, warnings: ['some warning'] });
  return outcome;
}

describe('truncation of the seed', () => {
  let seed: SeedLayout;

  beforeAll(() => {
    const bytes = readSeed();
    seed = layoutOf(bytes, ok(parseWhole(bytes, SEED_FILE)).records);
  });

  it('at every line boundary', () => {
    for (const b of seed.breaks) checkPrefix(seed, b + 1);
  });

  it('at the end of the text of every fifth line (a last line without its line break)', () => {
    for (const [i, b] of seed.breaks.entries()) if (i % 5 === 0) checkPrefix(seed, b);
  });

  it('at a spread of positions inside lines', () => {
    for (let at = 1; at < seed.bytes.length; at += 149) checkPrefix(seed, at);
  });

  it('at any position', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 40_479 }), (at) => {
        checkPrefix(seed, Math.min(at, seed.bytes.length));
      }),
      { numRuns: 150 },
    );
  });

  it('in UTF-16, at any byte, as the UTF-8 seed cut after the same whole characters', () => {
    const text = seed.bytes.toString('utf8');
    const utf16 = encodeText(text, 'utf-16le');
    // Only the warning about the half character at the end may differ.
    const gist = (o: Outcome) =>
      o.ok
        ? { records: o.records, warnings: o.summary.warnings.filter((w) => !w.message.includes('inside a character')) }
        : { code: o.error.code, line: o.error.line };
    fc.assert(
      fc.property(fc.integer({ min: 2, max: utf16.length }), (q) => {
        const wide = parseWhole(utf16.subarray(0, q), SEED_FILE);
        const narrow = parseWhole(Buffer.from(text.slice(0, Math.floor((q - 2) / 2))), SEED_FILE);
        expectSame(gist(wide), gist(narrow), { q });
        if (wide.ok) expect(wide.summary.warnings.some((w) => w.message.includes('inside a character'))).toBe(q % 2 === 1);
      }),
      { numRuns: 60 },
    );
  });

  it('a number that lost digits at the cut is dropped, not kept', () => {
    // Line 31 is "Oslo\t2 938\t...\t2 921"; cut after its last "2", the file ends in what looks like a whole row.
    const line31 = seed.bytes.toString('utf8').split('\n').slice(0, 30).join('\n').length + 1;
    const text = seed.bytes.toString('utf8');
    const at = Buffer.byteLength(text.slice(0, text.indexOf('\t2 921\n', line31) + 2));
    const r = ok(checkPrefix(seed, at));
    expect(r.records.at(-1)).toMatchObject({ region: 'Oslo', month: 11, value: 2933 });
    expect(r.summary.warnings).toEqual([
      expect.objectContaining({
        code: 'CUT_OFF',
        line: 31,
        section: 1,
        message: expect.stringContaining('the row "Oslo": 11 of 12 values read'),
      }),
    ]);
  });

  it('a cut inside the first month of a header row keeps the sections before it', () => {
    const text = seed.bytes.toString('utf8');
    const kept = text.slice(0, text.indexOf('\n\tJanuar', 700) + 6);
    expect(kept.endsWith('Avklaringstiltak\n\n\tJanu')).toBe(true);
    const at = Buffer.byteLength(kept);
    const r = ok(checkPrefix(seed, at));
    expect(r.records).toHaveLength(21 * 12);
    expect(r.summary.warnings).toEqual([
      expect.objectContaining({ code: 'CUT_OFF', message: expect.stringContaining('(Avklaringstiltak) ends before its header row') }),
    ]);
  });

  it('a cut between rows is reported by the counties missing', () => {
    // After section 1's "Ukjent" row: every month has a "*", so "I alt" cannot vouch; Trøndelag has no row yet.
    const text = seed.bytes.toString('utf8');
    const at = Buffer.byteLength(text.slice(0, text.indexOf('\nTrøndelag\t') + 1));
    const r = ok(checkPrefix(seed, at));
    expect(r.records).toHaveLength(20 * 12);
    expect(r.summary.warnings).toEqual([
      expect.objectContaining({ code: 'CUT_OFF', section: 1, message: expect.stringContaining('no row for Trøndelag') }),
    ]);
  });

  it('a cut inside a character drops it and warns, in UTF-8 and UTF-16', () => {
    const text = seed.bytes.toString('utf8');
    const at = Buffer.byteLength(`${text.slice(0, text.indexOf('\nØstfold\t3'))}\nØ`) - 1;
    const r = ok(checkPrefix(seed, at));
    expect(r.records).toHaveLength(21 * 12 + 12);
    // Then the cut is between rows: section 2 has only its "I alt" row.
    expect(r.summary.warnings.map((w) => w.code)).toEqual(['CUT_OFF', 'CUT_OFF']);
    expect(r.summary.warnings[0]?.message).toBe('the file ends inside a character (an incomplete utf-8 sequence), which is dropped');

    const utf16 = encodeText(text, 'utf-16le');
    const cut16 = ok(parseWhole(utf16.subarray(0, 2 + 2 * text.indexOf('\nØstfold\t3') + 3), SEED_FILE));
    expect(cut16.records).toEqual(r.records);
    expect(cut16.summary.warnings[0]?.message).toBe('the file ends inside a character (an incomplete utf-16le sequence), which is dropped');
    expect(cut16.summary.warnings.slice(1)).toEqual(r.summary.warnings.slice(1));
  });
});

describe('the end of a file that is not cut', () => {
  const year = 2021;
  const section = (values: Array<Array<number | null>>, extra: Array<'Ukjent'> = []) =>
    countySection({ year, firstMonth: 1, lastMonth: 2, main: 'I alt', measure: MEASURES[0]!, values, extraRows: extra });
  const plain = Array.from({ length: 12 }, (_, i) => [100 + i, 1200 + i]);

  it('a last row without a line break is kept whole when "I alt" vouches for its last number', () => {
    const spec: ExportSpec = { ...TITLES[0]!, vintage: '2021-02', sections: [section(plain)], finalNewline: false };
    const parsed = ok(parseWhole(Buffer.from(renderExport(spec))));
    expect(parsed.records).toEqual(expectedRecords(spec, 'export.txt'));
    expect(parsed.summary.warnings).toEqual([]);
  });

  it('…and loses that number, with a warning, when nothing can vouch for it', () => {
    const suppressed = plain.map((r, i) => (i === 3 ? [r[0] ?? 0, null] : r));
    const spec: ExportSpec = { ...TITLES[0]!, vintage: '2021-02', sections: [section(suppressed)], finalNewline: false };
    const parsed = ok(parseWhole(Buffer.from(renderExport(spec))));
    expect(parsed.records).toEqual(expectedRecords(spec, 'export.txt').slice(0, -1));
    expect(parsed.summary.warnings.map((w) => [w.code, w.message])).toEqual([
      ['CUT_OFF', expect.stringContaining('cut off in the row "Troms og Finnmark": 1 of 2 values read')],
    ]);
  });

  it('a last section without a row for some county is complete when its totals add up, and suspect when they cannot', () => {
    const withoutAgder = (s: SectionSpec): SectionSpec => {
      const agder = s.rows.findIndex((r) => r.region === 'Agder');
      const total = s.rows[0]!;
      total.values = total.values.map((v, i) => (v === null ? v : v - (s.rows[agder]?.values[i] ?? 0)));
      return { ...s, rows: s.rows.filter((_, i) => i !== agder) };
    };
    const complete: ExportSpec = { ...TITLES[0]!, vintage: '2021-02', sections: [withoutAgder(section(plain))] };
    expect(ok(parseWhole(Buffer.from(renderExport(complete)))).summary.warnings).toEqual([]);
    const starred = plain.map((r, i) => (i === 0 ? [null, null] : r));
    const suspect: ExportSpec = { ...TITLES[0]!, vintage: '2021-02', sections: [withoutAgder(section(starred))] };
    const parsed = ok(parseWhole(Buffer.from(renderExport(suspect))));
    expect(parsed.records).toEqual(expectedRecords(suspect, 'export.txt'));
    expect(parsed.summary.warnings.map((w) => [w.code, w.message])).toEqual([['CUT_OFF', expect.stringContaining('no row for Agder')]]);
  });
});
