/**
 * Seeded, deterministic NAV exports ("Deltakere i arbeidsrettede tiltak. Tiltaksgruppe og fylke") of any size, shaped
 * like fixtures/nav-tiltak-fylke-2019.txt, for benchmarks and tests.
 *
 * A real export covers one period in 32 sections (9 measure groups for all participants, then the same for the three
 * main groups, minus the combinations NAV does not publish). A bigger file repeats that block per year, each section
 * carrying its own period line. The parser only accepts years 1990-2100, so distinct years stop at a few MB; beyond
 * that the year list is walked again (a file of several vintages), which also keeps the parser's per-year state
 * bounded.
 *
 * Run directly: npx tsx bench/generate-export.ts --out FILE --mb 200 --seed 1
 */
import { createWriteStream } from 'node:fs';
import { resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

export interface GenerateOptions {
  seed: number;
  /** Years in file order, one block of sections each. With `targetBytes` the list is walked again until the target. */
  years: readonly number[];
  /** Stop after the first section that brings the output to at least this many bytes (UTF-8). */
  targetBytes?: number;
  /** The first N sections of each year's 32-section block (default all 32). */
  sectionsPerYear?: number;
  /** The last year of `years` covers only January..this month ("Januar - august 2026"), in every pass. */
  lastYearMonths?: number;
  /** Write the final section cut off in the one-cell-per-line layout, as the seed's tail is. */
  cutOffTail?: boolean;
  lineEnd?: '\n' | '\r\n';
}

export interface TailSummary {
  /** Value cells written in the cut-off section (already included in ExportSummary.records). */
  records: number;
  suppressed: number;
  /**
   * The file ends right after a number with no line end: a reader cannot tell it is whole, so a careful parser drops
   * it (a final `*` cannot have lost anything).
   */
  lastValueUnterminated: boolean;
}

export interface ExportSummary {
  bytes: number;
  /** Value cells, `*` included, "I alt" rows included, the cut-off tail's included. */
  records: number;
  suppressed: number;
  /** Section titles written, the cut-off one included. */
  sections: number;
  tail: TailSummary | null;
}

export const TITLE = 'Deltakere i arbeidsrettede tiltak. Tiltaksgruppe og fylke. Tidsserie måned';

const NOTES = [
  '"Om statistikken - Arbeidssøkere" finner du på nav.no ved å følge lenken under relatert informasjon på siden "Tiltaksdeltakere".',
  'I henhold til Statistikklovens § 2-6 har NAV valgt å erstatte verdier i celler hvor tallene er mindre enn 4 med spesialtegn «*».',
  'Dette for å sikre at verdiene ikke kan føres tilbake til identifiserbare enkeltpersoner.',
];

const BREAKDOWN_ALL = 'Fylke og tiltaksgruppe';
const BREAKDOWN_MAIN = 'Fylke, hovedgrupper og tiltaksgrupper';

export const MONTH_NAMES = [
  'Januar',
  'Februar',
  'Mars',
  'April',
  'Mai',
  'Juni',
  'Juli',
  'August',
  'September',
  'Oktober',
  'November',
  'Desember',
] as const;

/** NAV suppresses counts under this; the seed shows no 0 either, so 0 is printed as `*` too. */
const SUPPRESS_BELOW = 4;

// Headings of the Arbeidssøkere/Andre sections wrap at this width in the seed; the others never wrap there.
const WRAP_WIDTH = 28;

interface Measure {
  name: string;
  /** How much of the seed's summer dip (opplæring's) this measure shows: 0 flat, 1 as deep. */
  season: number;
}

const MEASURES: readonly Measure[] = [
  { name: 'Opplæring', season: 1 },
  { name: 'Avklaringstiltak', season: 1.2 },
  { name: 'Oppfølging', season: 0.2 },
  { name: 'Arbeidspraksis', season: 0.5 },
  { name: 'Tilrettelagt arbeid', season: 0 },
  { name: 'Lønnstilskudd', season: 0.1 },
  { name: 'Tilrettelegging', season: 0.5 },
  { name: 'Arbeidsrettet rehabilitering', season: 0.7 },
  { name: 'Jobbskaping og egenetablering', season: 0.3 },
];

// January 2019 levels of opplæring relative to its January, from the seed's "I alt opplæring".
const SEASON = [1, 1.05, 1.08, 1.06, 1.03, 0.81, 0.58, 0.77, 0.89, 0.96, 0.98, 0.95];

interface MainGroup {
  name: string;
  wraps: boolean;
  /** January 2019 national level per measure (from the seed); null where NAV publishes no section. */
  levels: ReadonlyArray<number | null>;
}

const MAIN_GROUPS: readonly MainGroup[] = [
  { name: 'Nedsatt arbeidsevne,', wraps: false, levels: [10696, 2257, 9063, 13274, 10546, 6630, 85, 502, 52] },
  { name: 'Arbeidssøkere', wraps: true, levels: [3592, 458, 4810, 4342, null, 1831, null, null, 207] },
  { name: 'Andre', wraps: true, levels: [114, 450, 538, 124, null, 267, 313, 278, 3] },
];

interface SectionSpec {
  /** Index into MAIN_GROUPS; null for the all-participants sections. */
  main: number | null;
  measure: number;
}

/** The seed's section order: all participants per measure, then each main group's published measures. */
const PATTERN: readonly SectionSpec[] = [
  ...MEASURES.map((_, measure) => ({ main: null, measure })),
  ...MAIN_GROUPS.flatMap((g, main) => g.levels.flatMap((level, measure) => (level === null ? [] : [{ main, measure }]))),
];

export const SECTIONS_PER_YEAR = PATTERN.length;

// ---- counties -----------------------------------------------------------------------------------------------------

interface RegionRow {
  label: string;
  /** Rough population in thousands: the share of participants a county gets before its own affinity. */
  weight: number;
}

const OTHER_AREAS: RegionRow = { label: 'Øvrige områder', weight: 1.5 };
const UNKNOWN: RegionRow = { label: 'Ukjent', weight: 6 };

const BEFORE_2018_HEAD: RegionRow[] = [
  { label: 'Østfold', weight: 297 },
  { label: 'Akershus', weight: 624 },
  { label: 'Oslo', weight: 681 },
  { label: 'Hedmark', weight: 197 },
  { label: 'Oppland', weight: 189 },
  { label: 'Buskerud', weight: 283 },
  { label: 'Vestfold', weight: 249 },
  { label: 'Telemark', weight: 173 },
  { label: 'Aust-Agder', weight: 117 },
  { label: 'Vest-Agder', weight: 187 },
  { label: 'Rogaland', weight: 474 },
  { label: 'Hordaland', weight: 522 },
  { label: 'Sogn og Fjordane', weight: 110 },
  { label: 'Møre og Romsdal', weight: 266 },
];
const NORTH_BEFORE_2020: RegionRow[] = [
  { label: 'Nordland', weight: 243 },
  { label: 'Troms', weight: 167 },
  { label: 'Finnmark', weight: 76 },
];

// Trøndelag (2018) came after the other counties in NAV's order, so it prints after "Øvrige områder" and "Ukjent".
const ROWS_TO_2017: readonly RegionRow[] = [
  ...BEFORE_2018_HEAD,
  { label: 'Sør-Trøndelag', weight: 320 },
  { label: 'Nord-Trøndelag', weight: 137 },
  ...NORTH_BEFORE_2020,
  OTHER_AREAS,
  UNKNOWN,
];
const ROWS_2018_2019: readonly RegionRow[] = [
  ...BEFORE_2018_HEAD,
  ...NORTH_BEFORE_2020,
  OTHER_AREAS,
  UNKNOWN,
  { label: 'Trøndelag', weight: 468 },
];
const ROWS_2020_2023: readonly RegionRow[] = [
  { label: 'Oslo', weight: 697 },
  { label: 'Rogaland', weight: 479 },
  { label: 'Møre og Romsdal', weight: 265 },
  { label: 'Nordland', weight: 241 },
  { label: 'Viken', weight: 1252 },
  { label: 'Innlandet', weight: 371 },
  { label: 'Vestfold og Telemark', weight: 419 },
  { label: 'Agder', weight: 307 },
  { label: 'Vestland', weight: 636 },
  { label: 'Trøndelag - Trööndelage', weight: 468 },
  { label: 'Troms og Finnmark - Romsa ja Finnmárku', weight: 242 },
  OTHER_AREAS,
  UNKNOWN,
];
const ROWS_FROM_2024: readonly RegionRow[] = [
  { label: 'Østfold', weight: 311 },
  { label: 'Akershus', weight: 725 },
  { label: 'Buskerud', weight: 270 },
  { label: 'Oslo', weight: 717 },
  { label: 'Innlandet', weight: 373 },
  { label: 'Vestfold', weight: 256 },
  { label: 'Telemark', weight: 177 },
  { label: 'Agder', weight: 319 },
  { label: 'Rogaland', weight: 499 },
  { label: 'Vestland', weight: 651 },
  { label: 'Møre og Romsdal', weight: 270 },
  { label: 'Trøndelag - Trööndelage', weight: 478 },
  { label: 'Nordland - Nordlánnda', weight: 243 },
  { label: 'Troms - Romsa - Tromssa', weight: 169 },
  { label: 'Finnmark - Finnmárku - Finmarkku', weight: 75 },
  OTHER_AREAS,
  UNKNOWN,
];

const ERAS = ['to2017', '2018-2019', '2020-2023', 'from2024'] as const;
type Era = (typeof ERAS)[number];

function eraOf(year: number): Era {
  if (year <= 2017) return 'to2017';
  if (year <= 2019) return '2018-2019';
  if (year <= 2023) return '2020-2023';
  return 'from2024';
}

const ROWS_BY_ERA: Readonly<Record<Era, readonly RegionRow[]>> = {
  to2017: ROWS_TO_2017,
  '2018-2019': ROWS_2018_2019,
  '2020-2023': ROWS_2020_2023,
  from2024: ROWS_FROM_2024,
};

// ---- randomness ---------------------------------------------------------------------------------------------------

class Rng {
  private state: number;
  private spareNormal: number | null = null;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** mulberry32: tiny, fast and good enough for plausible-looking counts. */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  normal(): number {
    if (this.spareNormal !== null) {
      const z = this.spareNormal;
      this.spareNormal = null;
      return z;
    }
    const u = 1 - this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  logNormal(sigma: number): number {
    return Math.exp(sigma * this.normal() - (sigma * sigma) / 2);
  }

  /** Poisson counts give small groups the right mix of 0-3 (`*`) and small numbers. */
  poisson(lambda: number): number {
    if (lambda <= 0) return 0;
    if (lambda >= 30) return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * this.normal()));
    const limit = Math.exp(-lambda);
    let k = 0;
    let p = this.next();
    while (p > limit) {
      k++;
      p *= this.next();
    }
    return k;
  }
}

/** Folds integers (seeds of any size, years) into one 32-bit seed, so every stream is reproducible on its own. */
function mix(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const part of parts) {
    for (const word of [part >>> 0, Math.floor(part / 2 ** 32) >>> 0]) {
      h = Math.imul(h ^ word, 0x85ebca6b);
      h ^= h >>> 13;
      h = Math.imul(h, 0xc2b2ae35);
      h ^= h >>> 16;
    }
  }
  return h >>> 0;
}

// ---- one year's numbers -------------------------------------------------------------------------------------------

interface Row {
  label: string;
  /** Nobody in the whole period: NAV leaves such a region out. */
  empty: boolean;
  /** Label lines in the one-cell-per-line layout, where the "I alt" label wraps like the heading. */
  cellLabel: readonly string[];
  values: number[];
}

interface SectionData {
  spec: SectionSpec;
  heading: readonly string[];
  /** "I alt" first, then every region of the year. */
  rows: Row[];
}

interface YearBlock {
  year: number;
  periodLine: string;
  months: number;
  sections: SectionData[];
}

export function periodLine(year: number, months: number): string {
  // NAV writes a partial period's last month in lower case ("Januar - august 2026").
  const last = months === 12 ? 'Desember' : (MONTH_NAMES[months - 1] ?? 'Desember').toLowerCase();
  return `Januar - ${last} ${year}`;
}

function headingLines(spec: SectionSpec): string[] {
  const measure = MEASURES[spec.measure]?.name ?? '';
  if (spec.main === null) return [measure];
  const group = MAIN_GROUPS[spec.main];
  if (!group) return [measure];
  const lower = measure.toLowerCase();
  const full = `${group.name} på tiltak, ${lower}`;
  if (!group.wraps || full.length <= WRAP_WIDTH) return [full];
  return [`${group.name} på tiltak,`, ...wrapWords(lower, WRAP_WIDTH)];
}

function wrapWords(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(line);
  return lines;
}

function totalLabels(heading: readonly string[]): { label: string; cellLabel: string[] } {
  const lower = heading.map((l) => l.toLowerCase());
  return { label: `I alt ${lower.join(' ')}`, cellLabel: [`I alt ${lower[0] ?? ''}`, ...lower.slice(1)] };
}

/**
 * Draws every main group's county counts for one year, then derives the all-participants sections and every "I alt"
 * as true sums (suppressed cells included), so both totals invariants hold wherever nothing is suppressed.
 */
class Numbers {
  private readonly affinity = new Map<string, number[]>();

  constructor(private readonly seed: number) {}

  /**
   * A year's numbers depend on the seed and the year only, so a year repeated by a later pass reads the same: a
   * parser comparing all-groups totals with the main groups' latest ones never sees two different vintages mixed.
   */
  yearBlock(year: number, months: number): YearBlock {
    const rng = new Rng(mix(this.seed, year, months));
    const era = eraOf(year);
    const regions = ROWS_BY_ERA[era];
    // counts[main][measure][region][month], true values
    const counts: Array<Array<number[][] | null>> = MAIN_GROUPS.map((group, main) =>
      group.levels.map((level, measure) => {
        if (level === null) return null;
        return this.draw(rng, months, regions, this.affinityOf(era, regions, main, measure, level), measure, level);
      }),
    );
    const sections = PATTERN.map((spec): SectionData => {
      const byRegion =
        spec.main === null
          ? regions.map((_, r) =>
              Array.from({ length: months }, (_, m) => counts.reduce((sum, group) => sum + (group[spec.measure]?.[r]?.[m] ?? 0), 0)),
            )
          : (counts[spec.main]?.[spec.measure] ?? []);
      const heading = headingLines(spec);
      const total = Array.from({ length: months }, (_, m) => byRegion.reduce((sum, values) => sum + (values[m] ?? 0), 0));
      const rows: Row[] = [{ ...totalLabels(heading), empty: false, values: total }];
      regions.forEach((region, r) => {
        const values = byRegion[r] ?? [];
        rows.push({ label: region.label, cellLabel: [region.label], empty: values.every((v) => v === 0), values });
      });
      return { spec, heading, rows };
    });
    return { year, periodLine: periodLine(year, months), months, sections };
  }

  private draw(
    rng: Rng,
    months: number,
    regions: readonly RegionRow[],
    affinity: readonly number[],
    measure: number,
    base: number,
  ): number[][] {
    const level = base * rng.logNormal(0.12);
    // A drift across the year, like the seed's falling jobbskaping or rising tilrettelagt arbeid.
    const slope = (rng.next() - 0.5) * 0.3;
    const strength = MEASURES[measure]?.season ?? 0;
    const national = Array.from({ length: months }, (_, m) => {
      const season = Math.max(0.05, 1 + strength * ((SEASON[m] ?? 1) - 1));
      return level * season * (1 + (slope * m) / 11) * rng.logNormal(0.02);
    });
    return regions.map((_, r) => {
      const share = (affinity[r] ?? 0) * rng.logNormal(0.08);
      return national.map((n) => rng.poisson(n * share * rng.logNormal(0.05)));
    });
  }

  /**
   * How a county's share departs from its population, kept across the years of an era so a county's profile is
   * recognisable from year to year; small groups get lumpier shares, as the seed's do.
   */
  private affinityOf(era: Era, regions: readonly RegionRow[], main: number, measure: number, base: number): number[] {
    const key = `${era}/${main}/${measure}`;
    const cached = this.affinity.get(key);
    if (cached) return cached;
    const rng = new Rng(mix(this.seed, ERAS.indexOf(era), main, measure));
    const sigma = base < 600 ? 0.9 : 0.35;
    const raw = regions.map((r) => r.weight * rng.logNormal(sigma));
    const sum = raw.reduce((a, b) => a + b, 0);
    const shares = raw.map((w) => w / sum);
    this.affinity.set(key, shares);
    return shares;
  }
}

// ---- text ---------------------------------------------------------------------------------------------------------

export function formatCount(n: number): string {
  if (n < SUPPRESS_BELOW) return '*';
  if (n < 1000) return String(n);
  if (n < 1_000_000) return `${Math.floor(n / 1000)} ${String(n % 1000).padStart(3, '0')}`;
  return String(n).replace(/\B(?=(\d{3})+$)/g, ' ');
}

interface Counts {
  records: number;
  suppressed: number;
}

function countRow(values: readonly number[], counts: Counts): void {
  counts.records += values.length;
  for (const v of values) if (v < SUPPRESS_BELOW) counts.suppressed++;
}

function preamble(firstPeriod: string, le: string): string {
  return ['', '', '', '', TITLE, '', 'Om tabellene', '', firstPeriod, '', NOTES[0], '', NOTES[1], '', NOTES[2]].join(le) + le;
}

function sectionHead(block: YearBlock, section: SectionData): string[] {
  const breakdown = section.spec.main === null ? BREAKDOWN_ALL : BREAKDOWN_MAIN;
  // Three blank lines separate sections (and the notes block from the first one).
  return ['', '', '', TITLE, '', breakdown, '', block.periodLine, '', ...section.heading, ''];
}

/**
 * The seed leaves out regions with nobody in the whole period (Oppland in one section, Trøndelag in another). The
 * file's last section keeps them (as `*`), since a reader can only tell a complete last section from a cut one by
 * its rows.
 */
function sectionText(block: YearBlock, section: SectionData, le: string, counts: Counts, keepEmpty: boolean): string {
  const lines = sectionHead(block, section);
  lines.push(`\t${MONTH_NAMES.slice(0, block.months).join('\t')}`);
  for (const row of section.rows) {
    if (row.empty && !keepEmpty) continue;
    lines.push(`${row.label}\t${row.values.map(formatCount).join('\t')}`);
    countRow(row.values, counts);
  }
  return lines.join(le) + le;
}

/**
 * The seed's tail: header cells, row labels and values each on a line of their own with blank lines between, ending
 * mid-section without a line end.
 */
function cutOffText(block: YearBlock, section: SectionData, le: string, rng: Rng): { text: string; tail: TailSummary } {
  const lines = sectionHead(block, section);
  // The seed's tail names one month only; other cuts fall later in the header.
  const columns = rng.next() < 0.5 ? 1 : 1 + Math.floor(rng.next() * block.months);
  for (const name of MONTH_NAMES.slice(0, columns)) lines.push(name, '');
  const rows = section.rows.filter((r) => !r.empty);
  const available = rows.length * columns;
  const keep = Math.max(1, Math.min(available - 1, 1 + Math.floor(rng.next() * available)));
  const tail: TailSummary = { records: 0, suppressed: 0, lastValueUnterminated: false };
  let last = '';
  outer: for (const row of rows) {
    lines.push(...row.cellLabel, '');
    for (const value of row.values.slice(0, columns)) {
      last = formatCount(value);
      lines.push(last, '');
      tail.records++;
      if (value < SUPPRESS_BELOW) tail.suppressed++;
      if (tail.records === keep) break outer;
    }
  }
  lines.pop();
  tail.lastValueUnterminated = last !== '*';
  return { text: lines.join(le), tail };
}

function validate(options: GenerateOptions): void {
  if (!Number.isInteger(options.seed)) throw new RangeError(`seed must be an integer, got ${options.seed}`);
  if (options.years.length === 0) throw new RangeError('years must name at least one year');
  for (const y of options.years) {
    if (!Number.isInteger(y) || y < 1000 || y > 9999) throw new RangeError(`years must be four-digit integers, got ${y}`);
  }
  const { sectionsPerYear, lastYearMonths, targetBytes } = options;
  if (sectionsPerYear !== undefined && (!Number.isInteger(sectionsPerYear) || sectionsPerYear < 1 || sectionsPerYear > SECTIONS_PER_YEAR)) {
    throw new RangeError(`sectionsPerYear must be 1-${SECTIONS_PER_YEAR}, got ${sectionsPerYear}`);
  }
  if (lastYearMonths !== undefined && (!Number.isInteger(lastYearMonths) || lastYearMonths < 1 || lastYearMonths > 12)) {
    throw new RangeError(`lastYearMonths must be 1-12, got ${lastYearMonths}`);
  }
  if (targetBytes !== undefined && !(targetBytes > 0)) throw new RangeError(`targetBytes must be positive, got ${targetBytes}`);
}

/**
 * Streams the export one section per chunk (the notes block first), so nothing ever holds more than one year's
 * numbers. The summary is the generator's return value.
 */
export function* generateExportChunks(options: GenerateOptions): Generator<string, ExportSummary, undefined> {
  validate(options);
  const le = options.lineEnd ?? '\n';
  const perYear = options.sectionsPerYear ?? SECTIONS_PER_YEAR;
  const target = options.targetBytes;
  const years = options.years;
  const lastYear = years[years.length - 1];
  const monthsOf = (year: number) => (year === lastYear && options.lastYearMonths !== undefined ? options.lastYearMonths : 12);
  const numbers = new Numbers(options.seed);
  const summary: ExportSummary = { bytes: 0, records: 0, suppressed: 0, sections: 0, tail: null };
  // A repeated year reads the same in every pass, so its sections are rendered once: a 200 MB file then costs little
  // more than writing it. One pass of the year list is small (~50 KB a year); the budget only guards absurd lists.
  const rendered = new Map<number, RenderedSection[]>();
  let cacheBudget = target === undefined ? 0 : CACHE_BYTES;

  const first = years[0] ?? 0;
  const head = preamble(periodLine(first, monthsOf(first)), le);
  summary.bytes += Buffer.byteLength(head, 'utf8');
  yield head;

  for (let i = 0; ; i++) {
    const slot = i % years.length;
    const year = years[slot] ?? first;
    const months = monthsOf(year);
    let block: YearBlock | undefined;
    const blockOf = (): YearBlock => (block ??= numbers.yearBlock(year, months));
    const cached = rendered.get(slot) ?? [];
    rendered.set(slot, cached);
    const passDone = i + 1 >= years.length;
    for (let s = 0; s < perYear; s++) {
      let piece = cached[s];
      if (!piece) {
        piece = renderSection(blockOf(), s, le, false);
        if (cacheBudget >= piece.bytes) {
          cached[s] = piece;
          cacheBudget -= piece.bytes;
        }
      }
      const isLast = target === undefined ? passDone && s === perYear - 1 : summary.bytes + piece.bytes >= target;
      summary.sections++;
      if (isLast && options.cutOffTail) {
        const section = blockOf().sections[s];
        if (!section) throw new Error(`no section ${s} in the pattern`);
        const cut = cutOffText(blockOf(), section, le, new Rng(mix(options.seed, summary.sections)));
        summary.tail = cut.tail;
        piece = { text: cut.text, bytes: Buffer.byteLength(cut.text, 'utf8'), ...cut.tail };
      } else if (isLast) piece = renderSection(blockOf(), s, le, true);
      summary.bytes += piece.bytes;
      summary.records += piece.records;
      summary.suppressed += piece.suppressed;
      yield piece.text;
      if (isLast) return summary;
    }
  }
}

const CACHE_BYTES = 32 * 1024 * 1024;

interface RenderedSection extends Counts {
  text: string;
  bytes: number;
}

function renderSection(block: YearBlock, index: number, le: string, keepEmpty: boolean): RenderedSection {
  const section = block.sections[index];
  if (!section) throw new Error(`no section ${index} in the pattern`);
  const counts: Counts = { records: 0, suppressed: 0 };
  const text = sectionText(block, section, le, counts, keepEmpty);
  return { text, bytes: Buffer.byteLength(text, 'utf8'), ...counts };
}

/** The whole export as one string with its summary; for sizes that fit comfortably in memory. */
export function generateExportWithSummary(options: GenerateOptions): { text: string; summary: ExportSummary } {
  const chunks: string[] = [];
  const gen = generateExportChunks(options);
  for (;;) {
    const step = gen.next();
    if (step.done) return { text: chunks.join(''), summary: step.value };
    chunks.push(step.value);
  }
}

export function generateExport(options: GenerateOptions): string {
  return generateExportWithSummary(options).text;
}

/** Writes the export to `path` as it is generated, in ~1 MB writes. */
export async function writeExport(path: string, options: GenerateOptions): Promise<ExportSummary> {
  let summary: ExportSummary | null = null;
  function* batches(): Generator<string> {
    const gen = generateExportChunks(options);
    let batch: string[] = [];
    let size = 0;
    for (;;) {
      const step = gen.next();
      if (step.done) {
        summary = step.value;
        break;
      }
      batch.push(step.value);
      size += step.value.length;
      if (size >= 1 << 20) {
        yield batch.join('');
        batch = [];
        size = 0;
      }
    }
    if (batch.length > 0) yield batch.join('');
  }
  await pipeline(Readable.from(batches()), createWriteStream(path));
  if (summary === null) throw new Error('the generator ended without a summary');
  return summary;
}

// ---- command line -------------------------------------------------------------------------------------------------

const USAGE = `usage: npx tsx bench/generate-export.ts --out FILE [--mb N | --bytes N] [--seed N] [--years 2015-2026]
       [--last-year-months N] [--sections-per-year N] [--cut-off-tail] [--crlf]
  --mb/--bytes  size to reach (MB = 1 048 576 bytes); without either, each year once
  --years       a range (2015-2026) or a list (2019,2020,2024); default 2015-2026`;

export function parseYears(spec: string): number[] {
  const years: number[] = [];
  for (const part of spec.split(',')) {
    const range = /^\s*(\d{4})\s*-\s*(\d{4})\s*$/.exec(part);
    if (range) {
      const from = Number(range[1]);
      const to = Number(range[2]);
      if (to < from) throw new RangeError(`year range ${part.trim()} runs backwards`);
      for (let y = from; y <= to; y++) years.push(y);
    } else if (/^\s*\d{4}\s*$/.test(part)) years.push(Number(part));
    else throw new RangeError(`"${part.trim()}" is not a year or a year range`);
  }
  return years;
}

function integerArg(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n)) throw new RangeError(`--${name} must be a number, got "${raw}"`);
  return n;
}

export function optionsFromArgs(args: readonly string[]): { out: string; options: GenerateOptions } {
  const { values } = parseArgs({
    args: [...args],
    strict: true,
    allowPositionals: false,
    options: {
      out: { type: 'string' },
      mb: { type: 'string' },
      bytes: { type: 'string' },
      seed: { type: 'string', default: '1' },
      years: { type: 'string', default: '2015-2026' },
      'last-year-months': { type: 'string' },
      'sections-per-year': { type: 'string' },
      'cut-off-tail': { type: 'boolean', default: false },
      crlf: { type: 'boolean', default: false },
    },
  });
  if (values.out === undefined) throw new RangeError('--out FILE is required');
  const mb = integerArg('mb', values.mb);
  const bytes = integerArg('bytes', values.bytes);
  const targetBytes = bytes ?? (mb === undefined ? undefined : Math.round(mb * 1024 * 1024));
  const options: GenerateOptions = {
    seed: integerArg('seed', values.seed) ?? 1,
    years: parseYears(values.years),
    cutOffTail: values['cut-off-tail'],
    lineEnd: values.crlf ? '\r\n' : '\n',
  };
  if (targetBytes !== undefined) options.targetBytes = targetBytes;
  const lastYearMonths = integerArg('last-year-months', values['last-year-months']);
  if (lastYearMonths !== undefined) options.lastYearMonths = lastYearMonths;
  const sectionsPerYear = integerArg('sections-per-year', values['sections-per-year']);
  if (sectionsPerYear !== undefined) options.sectionsPerYear = sectionsPerYear;
  validate(options);
  return { out: values.out, options };
}

async function main(): Promise<void> {
  let parsed: { out: string; options: GenerateOptions };
  try {
    parsed = optionsFromArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n${USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  const started = performance.now();
  const summary = await writeExport(parsed.out, parsed.options);
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(`${JSON.stringify({ file: parsed.out, ...summary, seconds: Number(seconds.toFixed(2)) })}\n`);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  });
}
