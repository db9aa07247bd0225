// Hostile input for the parser and the handler: random bytes, text made of export-like pieces, mutations of the
// seed, a 10 MB line, a row of a million cells, headings wrapped over hundreds of lines, thousands of sections. Every
// parse ends in records (with warnings where due) or a ParseError with a documented code, never another exception;
// work is bounded by the input (a line that is too long is refused after at most one line's worth of bytes). Through
// the handler a fuzzed file is rejected with a report or accepted whole, never half.
//
// Done elsewhere: truncation of the seed at every line (test/parser/properties.test.ts), the documented error of each
// bad fixture (test/parser/errors.test.ts), uploads over the size limit (test/ingest/failures.test.ts), hostile keys
// (hostile-keys.test.ts).
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { generateExportWithSummary } from '../../bench/generate-export.ts';
import { ExportParser, PARSE_ERROR_CODES, ParseError, parseBytes, parseChunks, type ParseSummary } from '../../lambdas/parser/index.ts';
import { rejectedKey } from '../../lambdas/lake/layout.ts';
import type { Observation } from '../../lambdas/schema/columns.ts';
import {
  SEED_TITLE,
  deliverSqs,
  exportText,
  ingestionRecords,
  lakeKeys,
  lakeSnapshot,
  partitionRows,
  putRaw,
  readLakeJson,
  seedText,
  startIngestRig,
} from '../helpers/events.ts';

const SEED = Buffer.from(seedText(), 'utf8');
const MONTH_NAMES = ['Januar', 'Februar', 'Mars', 'April', 'Mai', 'Juni', 'Juli', 'August', 'September', 'Oktober', 'November', 'Desember'];

// ---- what every parse must end in -------------------------------------------------------------------------------

const tally = { inputs: 0, withRecords: 0, withWarnings: 0, codes: new Map<string, number>(), files: 0, accepted: 0, rejected: 0 };

type Ending = { ok: true; records: Observation[]; summary: ParseSummary } | { ok: false; error: ParseError };

/** What is wrong with a record, if anything: the lake's column types must hold, whatever the input was. */
function malformed(r: Observation): string | null {
  if (!Number.isInteger(r.year) || r.year < 1990 || r.year > 2100) return `year ${r.year}`;
  if (!Number.isInteger(r.month) || r.month < 1 || r.month > 12) return `month ${r.month}`;
  if (r.period !== `${r.year}-${String(r.month).padStart(2, '0')}`) return `period ${r.period}`;
  if (r.value !== null && !(Number.isSafeInteger(r.value) && r.value >= 0)) return `value ${r.value}`;
  if (r.suppressed !== (r.value === null)) return `suppressed ${r.suppressed} with value ${r.value}`;
  if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(r.source_vintage)) return `source_vintage ${r.source_vintage}`;
  for (const text of [r.dataset, r.table_title, r.main_group, r.measure_group, r.region]) {
    if (typeof text !== 'string' || text.length === 0) return `empty text in ${JSON.stringify(r)}`;
  }
  if (typeof r.breakdown !== 'string') return `breakdown ${r.breakdown}`;
  return null;
}

/** Parses `bytes`; anything thrown but a ParseError with a documented code fails the test (a crash). */
function parseEnding(bytes: Uint8Array, options: { maxLineLength?: number } = {}): Ending {
  tally.inputs++;
  try {
    const { records, summary } = parseBytes(bytes, { file: 'fuzz.txt', ...options });
    tally.withRecords += records.length > 0 ? 1 : 0;
    tally.withWarnings += summary.warnings.length > 0 ? 1 : 0;
    expect(summary.records).toBe(records.length);
    // Records only come from a table whose title and period were read.
    if (records.length > 0) expect(summary.vintage).toMatch(/^\d{4}-\d\d$/);
    // Checked without expect() per record: a parse of the seed gives 7,430 of them.
    const bad = records.map(malformed).find((m) => m !== null);
    expect(bad ?? null).toBeNull();
    return { ok: true, records, summary };
  } catch (e) {
    if (!(e instanceof ParseError)) throw e;
    expect(PARSE_ERROR_CODES).toContain(e.code);
    expect(e.file).toBe('fuzz.txt');
    expect(Number.isInteger(e.line) && e.line >= 0).toBe(true);
    tally.codes.set(e.code, (tally.codes.get(e.code) ?? 0) + 1);
    return { ok: false, error: e };
  }
}

function expectError(ending: Ending, codes: string[]): ParseError {
  if (ending.ok) throw new Error(`expected one of ${codes.join(', ')}, got ${ending.records.length} records`);
  expect(codes).toContain(ending.error.code);
  return ending.error;
}

afterAll(() => {
  const codes = [...tally.codes]
    .sort((a, b) => b[1] - a[1])
    .map(([c, n]) => `${c} ${n}`)
    .join(', ');
  console.log(
    `fuzz: ${tally.inputs} inputs parsed, 0 crashes (${tally.withRecords} gave records, ${tally.withWarnings} with warnings; typed errors: ${codes}); ` +
      `${tally.files} fuzzed files through the handler (${tally.accepted} accepted, ${tally.rejected} rejected with a report), none half-written`,
  );
});

// ---- generators ---------------------------------------------------------------------------------------------------

/** Pieces of NAV exports and of things that are not: lines made of them reach deep into the parser's states. */
const cell = fc.oneof(
  fc.nat({ max: 99_999 }).map((n) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ' ')),
  fc.nat({ max: 2_000_000_000 }).map(String),
  fc.constantFrom('*', '', ' ', '-', '1x', '1,5', '12\u00a0345', '٣', '1e3', '0x10', '  7  '),
  fc.string({ maxLength: 6 }),
);
const label = fc.oneof(
  fc.constantFrom(
    'I alt',
    'I alt opplæring',
    'Østfold',
    'Oslo - Oslove',
    'Trøndelag - Trööndelage',
    'Ukjent',
    'Øvrige områder',
    'Viken',
    'Atlantis',
    '',
  ),
  fc.string({ maxLength: 12 }),
);
const month = fc.constantFrom(...MONTH_NAMES, ...MONTH_NAMES.map((m) => m.toLowerCase()), 'Jan', 'Smarch', '');
const year = fc.oneof(fc.integer({ min: 1985, max: 2105 }), fc.constantFrom(0, 99999));
const line = fc.oneof(
  fc.constantFrom(SEED_TITLE, 'Arbeidssøkere på tiltak. Fylke og tiltaksgruppe. Tidsserie måned', 'Om tabellene', '<!DOCTYPE html>', ''),
  fc.constantFrom(
    'Fylke og tiltaksgruppe',
    'Fylke, hovedgrupper og tiltaksgrupper',
    'Opplæring',
    'Nedsatt arbeidsevne, på tiltak,',
    'opplæring',
    'Arbeidssøkere på tiltak, lønnstilskudd',
  ),
  fc.tuple(month, month, year).map(([a, b, y]) => `${a} - ${b} ${y}`),
  fc.tuple(month, year).map(([m, y]) => `${m} ${y}`),
  fc.array(month, { maxLength: 14 }).map((ms) => `\t${ms.join('\t')}`),
  fc.tuple(label, fc.array(cell, { maxLength: 14 })).map(([l, cs]) => [l, ...cs].join('\t')),
  fc.tuple(label, fc.array(cell, { maxLength: 3 })).map(([l, cs]) => [l, ...cs].join('\n')),
  fc.string({ maxLength: 40 }),
);
const exportLike = fc
  .record({
    lines: fc.array(line, { maxLength: 60 }),
    eol: fc.constantFrom('\n', '\r\n', '\r'),
    encoding: fc.constantFrom('utf-8', 'utf-8', 'utf-8', 'utf-8-bom', 'utf-16le', 'latin1'),
  })
  .map(({ lines, eol, encoding }) => {
    const text = lines.join(eol);
    switch (encoding) {
      case 'utf-8-bom':
        return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text, 'utf8')]);
      case 'utf-16le':
        return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
      case 'latin1':
        return Buffer.from(text, 'latin1');
      default:
        return Buffer.from(text, 'utf8');
    }
  });

/** Valid exports with lines replaced, inserted or removed: most of the file parses, the damage is somewhere inside. */
const VALID_BASES = [
  exportText({ year: 2019, firstMonth: 1, lastMonth: 3 }),
  exportText({
    year: 2024,
    firstMonth: 7,
    lastMonth: 12,
    rows: [
      ['Akershus', [1, 2, 3, 4, 5, '*']],
      ['Troms - Romsa - Tromssa', [9, 8, 7, 6, 5, 4]],
    ],
  }),
  generateExportWithSummary({ seed: 5, years: [2020, 2021], sectionsPerYear: 3, lastYearMonths: 5, cutOffTail: true }).text,
];
const nearValid = fc
  .record({
    base: fc.constantFrom(...VALID_BASES.map((t) => t.split('\n'))),
    edits: fc.array(fc.record({ at: fc.nat(), op: fc.constantFrom('replace', 'insert', 'delete'), line }), { minLength: 1, maxLength: 4 }),
  })
  .map(({ base, edits }) => {
    const lines = [...base];
    for (const e of edits) {
      const at = e.at % (lines.length + 1);
      if (e.op === 'insert') lines.splice(at, 0, e.line);
      else if (e.op === 'replace') lines.splice(at, 1, e.line);
      else lines.splice(at, 1);
    }
    return Buffer.from(lines.join('\n'), 'utf8');
  });

type Mutation = { at: number; kind: 'flip' | 'insert' | 'delete'; byte: number; length: number };

const mutation: fc.Arbitrary<Mutation> = fc.record({
  at: fc.nat({ max: SEED.length - 1 }),
  kind: fc.constantFrom('flip', 'insert', 'delete'),
  byte: fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(...Buffer.from('\t\n\r *0123456789 I alt'))),
  length: fc.integer({ min: 1, max: 64 }),
});

function mutate(bytes: Buffer, mutations: readonly Mutation[]): Buffer {
  let out = Buffer.from(bytes);
  for (const m of mutations) {
    const at = Math.min(m.at, out.length);
    if (m.kind === 'flip' && at < out.length) out[at] = m.byte;
    else if (m.kind === 'insert') out = Buffer.concat([out.subarray(0, at), Buffer.alloc(m.length, m.byte), out.subarray(at)]);
    else out = Buffer.concat([out.subarray(0, at), out.subarray(at + m.length)]);
  }
  return out;
}

/** The small valid export with its "Oslo" row replaced. */
function withOsloRow(row: string): string {
  return exportText({ year: 2019, firstMonth: 1, lastMonth: 3 }).replace(/^Oslo\t.*$/m, row);
}

// ---- the parser -------------------------------------------------------------------------------------------------

describe('the parser on hostile input', () => {
  it('random bytes: records or a typed error', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4096 }), (bytes) => void parseEnding(bytes)),
      { numRuns: 1000 },
    );
  });

  it('text made of export-like lines, in any encoding and line end: records or a typed error', () => {
    fc.assert(
      fc.property(exportLike, (bytes) => void parseEnding(bytes)),
      { numRuns: 1500 },
    );
  });

  it('valid exports with lines replaced, inserted or removed: records or a typed error', () => {
    fc.assert(
      fc.property(nearValid, (bytes) => void parseEnding(bytes)),
      { numRuns: 1500 },
    );
  });

  it('the seed with bytes flipped, inserted and deleted: records (well-formed) or a typed error', () => {
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 6 }), (mutations) => void parseEnding(mutate(SEED, mutations))),
      { numRuns: 1000 },
    );
  });

  it('a 10 MB line is refused as LINE_TOO_LONG without holding it', () => {
    // Prepare
    const huge = Buffer.alloc(10 * 1024 * 1024, 'x');
    const heapBefore = process.memoryUsage().heapUsed;

    // Act
    const ending = parseEnding(huge);

    // Assess
    expect(expectError(ending, ['LINE_TOO_LONG']).line).toBe(1);
    // Generous: a parser that decoded or split the whole line would hold tens of MB of strings here.
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(32 * 1024 * 1024);
  });

  it('a line without end, streamed, is refused after at most one line limit of bytes, not read to its end', () => {
    // Prepare: a 1 GB line that is never held anywhere, fed as an S3 body would be
    const chunk = Buffer.alloc(64 * 1024, '1');
    const maxLineLength = 64 * 1024;
    const parser = new ExportParser({ file: 'endless.txt' });
    let fed = 0;

    // Act
    let error: unknown;
    try {
      parser.write(
        Buffer.from(`${SEED_TITLE}\n\nFylke og tiltaksgruppe\n\nJanuar - Mars 2019\n\nOpplæring\n\n\tJanuar\tFebruar\tMars\nOslo\t`),
      );
      for (let i = 0; i < 16 * 1024; i++) {
        fed += chunk.length;
        parser.write(chunk);
      }
      parser.end();
    } catch (e) {
      error = e;
    }

    // Assess
    expect(error).toBeInstanceOf(ParseError);
    expect((error as ParseError).code).toBe('LINE_TOO_LONG');
    expect(fed).toBeLessThanOrEqual(maxLineLength + 2 * chunk.length);
    tally.inputs++;
  });

  it('a row of a million cells: LINE_TOO_LONG, or TOO_MANY_CELLS when lines that long are allowed', () => {
    // Prepare
    const row = `Oslo${'\t1'.repeat(1_000_000)}`;
    const bytes = Buffer.from(withOsloRow(row), 'utf8');

    // Act
    const byDefault = parseEnding(bytes);
    const allowed = parseEnding(bytes, { maxLineLength: 4 * 1024 * 1024 });

    // Assess
    expect(expectError(byDefault, ['LINE_TOO_LONG']).line).toBe(12);
    const error = expectError(allowed, ['TOO_MANY_CELLS']);
    expect(error.line).toBe(12);
    expect(error.message).toContain('1000000');
  });

  it('a header of a million months is a BAD_HEADER or LINE_TOO_LONG', () => {
    const text = exportText({ year: 2019, firstMonth: 1, lastMonth: 3 }).replace(
      '\tJanuar\tFebruar\tMars',
      '\tJanuar\tFebruar\tMars'.repeat(333_334),
    );
    expectError(parseEnding(Buffer.from(text)), ['LINE_TOO_LONG']);
    expectError(parseEnding(Buffer.from(text), { maxLineLength: 8 * 1024 * 1024 }), ['BAD_HEADER', 'TOO_MANY_CELLS']);
  });

  it('headings and row labels wrapped over hundreds of lines are typed errors found within a few lines', () => {
    // Prepare
    const lines = exportText({ year: 2019, firstMonth: 1, lastMonth: 3 }).split('\n');
    const headingAt = lines.indexOf('Opplæring');
    const rowAt = lines.findIndex((l) => l.startsWith('Østfold\t'));
    const deepHeading = [
      ...lines.slice(0, headingAt),
      ...Array<string>(800).fill('Nedsatt arbeidsevne, på tiltak, opplæring og'),
      ...lines.slice(headingAt),
    ];
    const spacedHeading = [...lines.slice(0, headingAt), ...Array<string>(800).fill('opplæring\n'), ...lines.slice(headingAt)];
    const deepLabel = [...lines.slice(0, rowAt), ...Array<string>(800).fill('Østfold og'), ...lines.slice(rowAt)];

    // Act
    const endings = [deepHeading, spacedHeading, deepLabel].map((l) => parseEnding(Buffer.from(l.join('\n'))));

    // Assess: the parser gives up after a bounded number of lines, not at the end of the pile
    const [heading, spaced, labelled] = endings.map((e, i) => expectError(e, i < 2 ? ['BAD_HEADER'] : ['MISSING_CELLS']));
    expect(heading!.line).toBeLessThan(headingAt + 20);
    expect(spaced!.line).toBeLessThan(headingAt + 40);
    expect(labelled!.line).toBeLessThan(rowAt + 20);
  });

  it('3,552 sections (111 years of a full export) stream through with every record; thousands of copies of one section are REPEATED_SECTION', async () => {
    // Prepare
    const years = Array.from({ length: 111 }, (_, i) => 1990 + i);
    const { text, summary: generated } = generateExportWithSummary({ seed: 3, years });
    const bytes = Buffer.from(text, 'utf8');
    const chunks = Array.from({ length: Math.ceil(bytes.length / 65_536) }, (_, i) => bytes.subarray(i * 65_536, (i + 1) * 65_536));
    const repeated = Buffer.from(
      Array.from({ length: 3000 }, () => exportText({ year: 2019, firstMonth: 1, lastMonth: 3 })).join('\n\n\n'),
    );

    // Act: counted, not kept
    let records = 0;
    const summary = await parseChunks(chunks, { file: 'fuzz.txt' }, (batch) => {
      records += batch.length;
    });
    const copies = parseEnding(repeated);

    // Assess
    expect(generated.sections).toBe(3552);
    expect(summary.sections).toBe(3552);
    expect(records).toBe(generated.records);
    expect(summary.warnings).toEqual([]);
    expect(expectError(copies, ['REPEATED_SECTION']).line).toBeLessThan(40);
    tally.inputs++;
    tally.withRecords++;
  });
});

// ---- the handler ------------------------------------------------------------------------------------------------

/** Deterministic pseudo-random bytes. */
function noise(seed: number, length: number): Buffer {
  const out = Buffer.alloc(length);
  let s = seed >>> 0;
  for (let i = 0; i < length; i++) {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    out[i] = s & 0xff;
  }
  return out;
}

const FILES: Array<[name: string, body: () => Buffer]> = [
  ['random bytes.bin', () => noise(1, 64 * 1024)],
  [
    'seed with flipped bytes.txt',
    () =>
      mutate(
        SEED,
        [5000, 20_000, 60_000, 90_000].map((at, i) => ({ at, kind: 'flip', byte: [0x09, 0x00, 0x2a, 0xff][i]!, length: 1 })),
      ),
  ],
  ['seed with a cell made longer.txt', () => Buffer.from(seedText().replace('Oslo\t', 'Oslo\t9'), 'utf8')],
  ['seed with a hole.txt', () => mutate(SEED, [{ at: 40_000, kind: 'delete', byte: 0, length: 3000 }])],
  ['seed cut mid-line.txt', () => SEED.subarray(0, 51_234)],
  ['one 10 MB line.txt', () => Buffer.alloc(10 * 1024 * 1024, 'x')],
  ['a million cells.txt', () => Buffer.from(withOsloRow(`Oslo${'\t1'.repeat(1_000_000)}`), 'utf8')],
  [
    'deep heading.txt',
    () =>
      Buffer.from(
        exportText({ year: 2019, firstMonth: 1, lastMonth: 3 }).replace('\nOpplæring\n', `\n${'Opplæring og\n'.repeat(500)}Opplæring\n`),
        'utf8',
      ),
  ],
  ['utf-16 noise.txt', () => Buffer.concat([Buffer.from([0xff, 0xfe]), noise(2, 20_000)])],
  ['nul in a row.txt', () => Buffer.from(withOsloRow('Oslo\t1\u00002\t3\t4'), 'utf8')],
  [
    'three thousand copies of a section.txt',
    () => Buffer.from(Array.from({ length: 3000 }, () => exportText({ year: 2019, firstMonth: 1, lastMonth: 3 })).join('\n\n\n')),
  ],
];

describe('fuzzed files through the handler', () => {
  it('are rejected with a report or accepted whole; the handler never fails the message and never half-writes', async () => {
    // Prepare: a lake holding the seed, so a bad file has something to damage
    const rig = await startIngestRig();
    await deliverSqs(rig, await putRaw(rig.s3.client, 'uploads/2019.txt', seedText()));

    for (const [name, body] of FILES) {
      const key = `fuzz/${name}`;
      const before = await lakeSnapshot(rig.lakeDir, 'observations/');
      const upload = await putRaw(rig.s3.client, key, body());

      // Act
      const response = await deliverSqs(rig, upload);

      // Assess
      expect(response, name).toEqual({ batchItemFailures: [] });
      const record = (await ingestionRecords(rig)).find((i) => i.source_key === key);
      expect(record, name).toBeDefined();
      const after = await lakeSnapshot(rig.lakeDir, 'observations/');
      if (record!.status === 'rejected') {
        expect(PARSE_ERROR_CODES, name).toContain(record!.error_code);
        expect(await readLakeJson(rig.lakeDir, rejectedKey(key)), name).toMatchObject({ code: record!.error_code, source_key: key });
        expect(after, name).toEqual(before);
        tally.rejected++;
      } else {
        // The lake holds exactly the rows the record says this upload wrote, one per cell: a cut-off file brings only
        // its cells, so a month may mix its rows with older ones, but never twice the same cell.
        let rows = 0;
        for (const partition of await lakeKeys(rig.lakeDir, 'observations/')) {
          if (after[partition] === before[partition]) continue;
          const all = await partitionRows(rig.lakeDir, partition);
          const cells = all.map((r) => `${r.main_group}|${r.measure_group}|${r.region}`);
          expect(new Set(cells).size, `${name}: ${partition}`).toBe(cells.length);
          rows += all.filter((r) => r.source_key === key).length;
        }
        expect(rows, name).toBe(record!.records_written);
        expect(record!.records_written, name).toBe(record!.partitions.reduce((n, p) => n + p.written, 0));
        tally.accepted++;
      }
      tally.files++;
    }
    expect(rig.logs.filter((l) => l.level === 'error')).toEqual([]);
    expect(tally.rejected).toBeGreaterThan(5);
  });
});
