// The benchmark generator against the real export: same layout as the seed, the county lists of each reform era,
// numbers that add up the way NAV's do, sizes as asked, and text streamed a section at a time. The generated text is
// read back with the small reader below, not with the project's parser, so that the two can be checked against each
// other later.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  generateExport,
  generateExportChunks,
  generateExportWithSummary,
  writeExport,
  type ExportSummary,
  type GenerateOptions,
} from '../bench/generate-export.ts';

const SEED_PATH = fileURLToPath(new URL('../fixtures/nav-tiltak-fylke-2019.txt', import.meta.url));
const GENERATOR = fileURLToPath(new URL('../bench/generate-export.ts', import.meta.url));
const SEED_TEXT = readFileSync(SEED_PATH, 'utf8');
const TITLE = 'Deltakere i arbeidsrettede tiltak. Tiltaksgruppe og fylke. Tidsserie måned';
const MONTHS = ['Januar', 'Februar', 'Mars', 'April', 'Mai', 'Juni', 'Juli', 'August', 'September', 'Oktober', 'November', 'Desember'];
const VALUE = /^(?:\*|[1-9]\d{0,2}(?: \d{3})*)$/;

// Written out by hand, not taken from the generator: the county rows NAV prints in each era, in its order.
const COUNTIES_2018_2019 = [
  'Østfold',
  'Akershus',
  'Oslo',
  'Hedmark',
  'Oppland',
  'Buskerud',
  'Vestfold',
  'Telemark',
  'Aust-Agder',
  'Vest-Agder',
  'Rogaland',
  'Hordaland',
  'Sogn og Fjordane',
  'Møre og Romsdal',
  'Nordland',
  'Troms',
  'Finnmark',
  'Trøndelag',
];
const COUNTIES_TO_2017 = [...COUNTIES_2018_2019.slice(0, 14), 'Sør-Trøndelag', 'Nord-Trøndelag', 'Nordland', 'Troms', 'Finnmark'];
const COUNTIES_2020_2023 = [
  'Oslo',
  'Rogaland',
  'Møre og Romsdal',
  'Nordland',
  'Viken',
  'Innlandet',
  'Vestfold og Telemark',
  'Agder',
  'Vestland',
  'Trøndelag - Trööndelage',
  'Troms og Finnmark - Romsa ja Finnmárku',
];
const COUNTIES_FROM_2024 = [
  'Østfold',
  'Akershus',
  'Buskerud',
  'Oslo',
  'Innlandet',
  'Vestfold',
  'Telemark',
  'Agder',
  'Rogaland',
  'Vestland',
  'Møre og Romsdal',
  'Trøndelag - Trööndelage',
  'Nordland - Nordlánnda',
  'Troms - Romsa - Tromssa',
  'Finnmark - Finnmárku - Finmarkku',
];
const NON_COUNTIES = ['Øvrige områder', 'Ukjent'];

/** How many main groups NAV publishes each measure for (from the seed's headings). */
const MAIN_GROUPS_PER_MEASURE: Readonly<Record<string, number>> = {
  opplæring: 3,
  avklaringstiltak: 3,
  oppfølging: 3,
  arbeidspraksis: 3,
  'tilrettelagt arbeid': 1,
  lønnstilskudd: 3,
  tilrettelegging: 2,
  'arbeidsrettet rehabilitering': 2,
  'jobbskaping og egenetablering': 3,
};

// ---- a small reader for the generated text ----------------------------------------------------------------------

interface Row {
  label: string;
  cells: string[];
}

interface Table {
  breakdown: string;
  period: string;
  heading: string[];
  months: string[];
  rows: Row[];
}

interface Tail {
  breakdown: string;
  period: string;
  heading: string[];
  months: string[];
  /** Labels (lines joined by "\n") and their values, the last row possibly short. */
  rows: Row[];
}

interface Read {
  preamble: string[];
  tables: Table[];
  tail: Tail | null;
}

/** Reads text in the seed's layout, failing on any line out of place. */
function readExport(text: string): Read {
  const lines = text.split('\n');
  let i = 0;
  const expectLine = (want: string | RegExp, what: string): string => {
    const line = lines[i];
    const ok = typeof want === 'string' ? line === want : line !== undefined && want.test(line);
    if (!ok) throw new Error(`line ${i + 1}: expected ${what}, found ${JSON.stringify(line)}`);
    i++;
    return line ?? '';
  };
  for (let k = 0; k < 4; k++) expectLine('', 'a leading blank line');
  const preambleStart = i;
  expectLine(TITLE, 'the title');
  expectLine('', 'a blank line');
  expectLine('Om tabellene', 'the notes block');
  while (i < lines.length && !(lines[i] === '' && lines[i + 1] === '' && lines[i + 2] === '' && lines[i + 3] === TITLE)) i++;
  const preamble = lines.slice(preambleStart, i);
  const tables: Table[] = [];
  let tail: Tail | null = null;
  while (i < lines.length) {
    if (i === lines.length - 1 && lines[i] === '') break;
    for (let k = 0; k < 3; k++) expectLine('', 'one of three blank lines between sections');
    expectLine(TITLE, 'the section title');
    expectLine('', 'a blank line');
    const breakdown = expectLine(/^Fylke( og tiltaksgruppe|, hovedgrupper og tiltaksgrupper)$/, 'the breakdown');
    expectLine('', 'a blank line');
    const period = expectLine(/^Januar - \S+ \d{4}$/, 'the period line');
    expectLine('', 'a blank line');
    const heading: string[] = [];
    while (lines[i] !== '' && i < lines.length) heading.push(expectLine(/^[^\t]+$/, 'a heading line'));
    if (heading.length === 0 || heading.length > 3) throw new Error(`line ${i + 1}: a heading of ${heading.length} lines`);
    expectLine('', 'a blank line after the heading');
    if (lines[i]?.startsWith('\t')) {
      const months = expectLine(/^\t/, 'the header row').slice(1).split('\t');
      const rows: Row[] = [];
      while (i < lines.length && lines[i] !== '') {
        const [label = '', ...cells] = expectLine(/^[^\t]+(\t[^\t]+)+$/, 'a row').split('\t');
        rows.push({ label, cells });
      }
      tables.push({ breakdown, period, heading, months, rows });
    } else {
      tail = readTail(lines.slice(i), { breakdown, period, heading });
      break;
    }
  }
  return { preamble, tables, tail };
}

/** The one-cell-per-line layout: cells separated by blank lines, a row label possibly over several lines. */
function readTail(lines: string[], head: Pick<Tail, 'breakdown' | 'period' | 'heading'>): Tail {
  const groups: string[][] = [[]];
  for (const line of lines) {
    if (line === '') groups.push([]);
    else groups[groups.length - 1]?.push(line);
  }
  if (groups.some((g) => g.length === 0)) throw new Error('the cut-off tail has more than one blank line between cells');
  const months: string[] = [];
  while (groups.length > 0 && groups[0]?.length === 1 && MONTHS.includes(groups[0][0] ?? '')) months.push(groups.shift()?.[0] ?? '');
  const rows: Row[] = [];
  for (const group of groups) {
    const text = group.join('\n');
    const last = rows[rows.length - 1];
    if (VALUE.test(text) && last && last.cells.length < months.length) last.cells.push(text);
    else rows.push({ label: text, cells: [] });
  }
  return { ...head, months, rows };
}

function numberOf(cell: string): number | null {
  return cell === '*' ? null : Number(cell.replace(/ /g, ''));
}

function measureOf(table: Pick<Table, 'heading'>): { main: string | null; measure: string } {
  const heading = table.heading.join(' ');
  const m = /^(.*?),? på tiltak, (.*)$/.exec(heading);
  return m ? { main: m[1] ?? '', measure: (m[2] ?? '').toLowerCase() } : { main: null, measure: heading.toLowerCase() };
}

/** Checks both totals invariants wherever no cell involved is `*`; returns how many sums it could check. */
function checkTotals(tables: readonly Table[]): { rowSums: number; groupSums: number } {
  // Mismatches are collected and compared once: an expect() per sum would dominate the run time.
  const wrong: string[] = [];
  const wrongLabels: string[] = [];
  let rowSums = 0;
  let groupSums = 0;
  const byMeasure = new Map<string, { all: number | null | undefined; mains: Map<string, number | null> }>();
  for (const t of tables) {
    const [total, ...regions] = t.rows;
    if (total?.label !== `I alt ${t.heading.join(' ').toLowerCase()}`) wrongLabels.push(total?.label ?? '(no rows)');
    if (!total) continue;
    const { main, measure } = measureOf(t);
    t.months.forEach((_, j) => {
      const totalValue = numberOf(total.cells[j] ?? '*');
      const values = regions.map((r) => numberOf(r.cells[j] ?? '*'));
      if (totalValue !== null && values.every((v) => v !== null)) {
        const sum = values.reduce<number>((a, b) => a + (b ?? 0), 0);
        if (sum !== totalValue) wrong.push(`${t.heading.join(' ')} ${t.period} ${MONTHS[j]}: ${sum} vs I alt ${totalValue}`);
        rowSums++;
      }
      const key = `${t.period}|${measure}|${j}`;
      const entry = byMeasure.get(key) ?? { all: undefined, mains: new Map() };
      byMeasure.set(key, entry);
      if (main === null) entry.all = totalValue;
      else entry.mains.set(main, totalValue);
    });
  }
  for (const [key, entry] of byMeasure) {
    const measure = key.split('|')[1] ?? '';
    if (entry.all === undefined || entry.all === null || entry.mains.size !== MAIN_GROUPS_PER_MEASURE[measure]) continue;
    const mains = [...entry.mains.values()];
    if (mains.some((v) => v === null)) continue;
    const sum = mains.reduce<number>((a, b) => a + (b ?? 0), 0);
    if (sum !== entry.all) wrong.push(`${key}: main groups ${sum} vs all groups ${entry.all}`);
    groupSums++;
  }
  expect(wrongLabels).toEqual([]);
  expect(wrong).toEqual([]);
  return { rowSums, groupSums };
}

function cellsOf(read: Read): string[] {
  return [...read.tables.flatMap((t) => t.rows.flatMap((r) => r.cells)), ...(read.tail?.rows.flatMap((r) => r.cells) ?? [])];
}

function expectSummaryMatches(text: string, summary: ExportSummary, read: Read): void {
  const cells = cellsOf(read);
  expect(summary.bytes).toBe(Buffer.byteLength(text, 'utf8'));
  expect(summary.records).toBe(cells.length);
  expect(summary.suppressed).toBe(cells.filter((c) => c === '*').length);
  expect(summary.sections).toBe(read.tables.length + (read.tail ? 1 : 0));
  expect(cells.filter((c) => !VALUE.test(c) || (c !== '*' && (numberOf(c) ?? 0) < 4))).toEqual([]);
}

function countyRowsOf(table: Table): string[] {
  return table.rows
    .slice(1)
    .map((r) => r.label)
    .filter((l) => !NON_COUNTIES.includes(l));
}

// ---- the tests ---------------------------------------------------------------------------------------------------

describe('generateExport', () => {
  const seedLike = generateExportWithSummary({ seed: 1, years: [2019], cutOffTail: true });
  const seedRead = readExport(SEED_TEXT);
  const read = readExport(seedLike.text);

  it('is deterministic: the same seed gives the same bytes, another seed other bytes', () => {
    const options: GenerateOptions = { seed: 7, years: [2019, 2020, 2024], cutOffTail: true };
    const a = generateExport(options);
    expect(generateExport({ ...options })).toBe(a);
    expect([...generateExportChunks(options)].join('')).toBe(a);
    expect(generateExport({ ...options, seed: 8 })).not.toBe(a);
  });

  it('lays a year out exactly as the seed: notes, breakdowns, periods, wrapped headings, header rows, blank lines', () => {
    const skeleton = (text: string) => {
      const lines = text.split('\n');
      const tailTitle = lines.lastIndexOf(TITLE);
      const cellsStart = lines.indexOf('', tailTitle + 6) + 1;
      return lines.slice(0, cellsStart).filter((l) => !l.includes('\t') || l.startsWith('\t'));
    };
    expect(skeleton(seedLike.text)).toEqual(skeleton(SEED_TEXT));
    expect(read.tables).toHaveLength(seedRead.tables.length);
    expect(read.tables.map((t) => t.heading)).toEqual(seedRead.tables.map((t) => t.heading));
  });

  it("prints the seed's regions in the seed's order, leaving out only some", () => {
    const order = seedRead.tables[0]?.rows.slice(1).map((r) => r.label) ?? [];
    expect(order).toHaveLength(20);
    for (const t of read.tables) {
      const labels = t.rows.slice(1).map((r) => r.label);
      const positions = labels.map((l) => order.indexOf(l));
      expect(positions.every((p) => p !== -1)).toBe(true);
      expect(positions).toEqual([...positions].sort((a, b) => a - b));
      expect(labels.length).toBeGreaterThanOrEqual(16);
    }
    expect(read.tables.some((t) => t.rows.length < 21)).toBe(true);
    expect(read.tables.some((t) => t.rows.some((r) => r.label === 'Øvrige områder'))).toBe(true);
  });

  it("writes counts like NAV: spaces between thousands, `*` under 4, magnitudes near the seed's", () => {
    const cells = cellsOf(read);
    expect(cells.some((c) => / \d{3}$/.test(c))).toBe(true);
    const stars = cells.filter((c) => c === '*').length;
    expect(stars / cells.length).toBeGreaterThan(0.05);
    expect(stars / cells.length).toBeLessThan(0.4);
    const yearly = (t: Table | undefined) => (t?.rows[0]?.cells ?? []).reduce((a, c) => a + (numberOf(c) ?? 0), 0);
    for (let s = 0; s < seedRead.tables.length; s++) {
      const ratio = yearly(read.tables[s]) / Math.max(1, yearly(seedRead.tables[s]));
      expect(ratio, read.tables[s]?.heading.join(' ')).toBeGreaterThan(0.4);
      expect(ratio, read.tables[s]?.heading.join(' ')).toBeLessThan(2.5);
    }
  });

  it('ends like the seed: the last section cut off in the one-cell-per-line layout, with no line end', () => {
    expect(seedLike.text.endsWith('\n')).toBe(false);
    const tail = read.tail;
    expect(tail?.heading).toEqual(['Andre på tiltak,', 'jobbskaping og', 'egenetablering']);
    expect(tail?.months[0]).toBe('Januar');
    expect(tail?.months).toEqual(MONTHS.slice(0, tail?.months.length));
    expect(tail?.rows[0]?.label).toBe('I alt andre på tiltak,\njobbskaping og\negenetablering');
    expect(tail?.rows[0]?.cells.length).toBeGreaterThan(0);
    expect(seedLike.summary.tail?.records).toBe(tail?.rows.reduce((a, r) => a + r.cells.length, 0));
    expect(seedLike.summary.tail?.lastValueUnterminated).toBe(!seedLike.text.endsWith('*'));
    expectSummaryMatches(seedLike.text, seedLike.summary, read);
  });

  it('keeps both totals invariants: "I alt" is the regions\' sum, all groups the main groups\' sum', () => {
    const { text } = generateExportWithSummary({ seed: 11, years: [2016, 2019, 2021, 2024, 2026], lastYearMonths: 8 });
    const checked = checkTotals(readExport(text).tables);
    expect(checked.rowSums).toBeGreaterThan(150);
    expect(checked.groupSums).toBeGreaterThan(100);
  });

  it("uses the counties of each year's reform era, Sami names included", () => {
    const { text } = generateExportWithSummary({ seed: 3, years: [2017, 2019, 2020, 2023, 2024], sectionsPerYear: 3 });
    const oppfolging = readExport(text).tables.filter((t) => t.heading[0] === 'Oppfølging');
    expect(oppfolging.map((t) => t.period)).toEqual([2017, 2019, 2020, 2023, 2024].map((y) => `Januar - Desember ${y}`));
    expect(oppfolging.map(countyRowsOf)).toEqual([
      COUNTIES_TO_2017,
      COUNTIES_2018_2019,
      COUNTIES_2020_2023,
      COUNTIES_2020_2023,
      COUNTIES_FROM_2024,
    ]);
  });

  it('gives the last year a partial period with as many month columns', () => {
    const { text, summary } = generateExportWithSummary({ seed: 5, years: [2025, 2026], lastYearMonths: 8, sectionsPerYear: 9 });
    const r = readExport(text);
    expect(r.tables.map((t) => t.period)).toEqual([
      ...Array<string>(9).fill('Januar - Desember 2025'),
      ...Array<string>(9).fill('Januar - august 2026'),
    ]);
    for (const t of r.tables.slice(9)) {
      expect(t.months).toEqual(MONTHS.slice(0, 8));
      for (const row of t.rows) expect(row.cells).toHaveLength(8);
    }
    expect(r.preamble).toContain('Januar - Desember 2025');
    expectSummaryMatches(text, summary, r);
  });

  it('reaches targetBytes within one section, walking the years again when they run out', () => {
    const target = 250_000;
    for (const cutOffTail of [false, true]) {
      const { text, summary } = generateExportWithSummary({ seed: 9, years: [2019, 2020], targetBytes: target, cutOffTail });
      const r = readExport(text);
      expectSummaryMatches(text, summary, r);
      const largest =
        Math.max(...r.tables.map((t) => Buffer.byteLength(t.rows.map((x) => `${x.label}\t${x.cells.join('\t')}`).join('\n')))) + 400;
      if (cutOffTail) expect(Math.abs(summary.bytes - target)).toBeLessThan(largest);
      else {
        expect(summary.bytes).toBeGreaterThanOrEqual(target);
        expect(summary.bytes - target).toBeLessThan(largest);
      }
      // Two years hold ~90 KB, so the list was walked more than twice.
      expect(r.tables.filter((t) => t.period === 'Januar - Desember 2019').length).toBeGreaterThan(64);
      checkTotals(r.tables);
    }
  });

  it('writes CRLF line ends when asked, and nothing else changes', () => {
    const options: GenerateOptions = { seed: 4, years: [2023, 2024], cutOffTail: true };
    const crlf = generateExportWithSummary({ ...options, lineEnd: '\r\n' });
    expect(crlf.text).toBe(generateExport(options).replace(/\n/g, '\r\n'));
    expect(crlf.text.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
    expect(crlf.summary.bytes).toBe(Buffer.byteLength(crlf.text));
  });

  it('streams lazily, one section per chunk, even for a file far larger than memory', () => {
    const gen = generateExportChunks({ seed: 1, years: [2019, 2020, 2024], targetBytes: 1e13 });
    const first = gen.next();
    expect(first.done).toBe(false);
    expect(first.value).toContain('Om tabellene');
    for (let k = 0; k < 500; k++) {
      const step = gen.next();
      if (step.done) throw new Error('the generator ended early');
      expect(step.value.startsWith(`\n\n\n${TITLE}\n`)).toBe(true);
      expect(step.value.split(TITLE)).toHaveLength(2);
      expect(step.value.length).toBeLessThan(4096);
    }
    expect(gen.return(undefined as never).done).toBe(true);
  });

  it('holds the invariants for any seed, years, sections per year and partial last year', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -2_000_000_000, max: 2_000_000_000 }),
        fc.uniqueArray(fc.integer({ min: 2012, max: 2027 }), { minLength: 1, maxLength: 3 }),
        fc.option(fc.integer({ min: 1, max: 32 }), { nil: undefined }),
        fc.option(fc.integer({ min: 1, max: 12 }), { nil: undefined }),
        fc.boolean(),
        (seed, years, sectionsPerYear, lastYearMonths, cutOffTail) => {
          const options: GenerateOptions = { seed, years, cutOffTail };
          if (sectionsPerYear !== undefined) options.sectionsPerYear = sectionsPerYear;
          if (lastYearMonths !== undefined) options.lastYearMonths = lastYearMonths;
          const { text, summary } = generateExportWithSummary(options);
          const r = readExport(text);
          expectSummaryMatches(text, summary, r);
          expect(r.tables.length + (r.tail ? 1 : 0)).toBe(years.length * (sectionsPerYear ?? 32));
          expect(r.tail !== null).toBe(cutOffTail);
          for (const t of r.tables) {
            const months = t.period.endsWith(`Desember ${t.period.slice(-4)}`) ? 12 : (lastYearMonths ?? 12);
            expect(t.months).toEqual(MONTHS.slice(0, months));
          }
          checkTotals(r.tables);
        },
      ),
      { numRuns: 25, seed: 20240601 },
    );
  });
});

describe('writeExport and the command line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'navlake-generate-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the same bytes generateExport returns, and says so in its summary', async () => {
    const options: GenerateOptions = { seed: 2, years: [2019, 2020], targetBytes: 120_000, cutOffTail: true };
    const path = join(dir, 'export.txt');
    const summary = await writeExport(path, options);
    const { text, summary: inMemory } = generateExportWithSummary(options);
    expect(readFileSync(path, 'utf8')).toBe(text);
    expect(summary).toEqual(inMemory);
  });

  it('runs as a script: --out, --bytes, --seed, --years, --cut-off-tail', async () => {
    const out = join(dir, 'cli.txt');
    const run = await runGenerator(['--out', out, '--bytes', '60000', '--seed', '3', '--years', '2019,2024', '--cut-off-tail']);
    expect(run.code, run.stderr).toBe(0);
    const printed = JSON.parse(run.stdout) as ExportSummary & { file: string };
    const text = readFileSync(out, 'utf8');
    expect(printed.bytes).toBe(Buffer.byteLength(text));
    expect(text).toBe(generateExport({ seed: 3, years: [2019, 2024], targetBytes: 60_000, cutOffTail: true }));
    const bad = await runGenerator(['--out', out, '--years', 'last year']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('usage:');
  });
});

function runGenerator(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', GENERATOR, ...args]);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d: string) => (stdout += d));
    child.stderr.on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
