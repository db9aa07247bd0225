// Builds small NAV exports and re-encodes real ones, for the parser's variant, property and error tests.
// The county tables and the expected records here are written out by hand from the issue, not taken from the
// parser's own modules, so that the tests check the parser against an independent oracle.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { ExportParser, ParseError, type ParseSummary } from '../../lambdas/parser/index.ts';
import type { Observation } from '../../lambdas/schema/columns.ts';
import { encodeWindows1252 } from './windows-1252.ts';

export const SEED_FILE = 'nav-tiltak-fylke-2019.txt';
export const SEED_PATH = fileURLToPath(new URL(`../../fixtures/${SEED_FILE}`, import.meta.url));
export const BAD_DIR = fileURLToPath(new URL('../fixtures/bad/', import.meta.url));

export function readSeed(): Buffer {
  return readFileSync(SEED_PATH);
}

export function readBad(name: string): Buffer {
  return readFileSync(`${BAD_DIR}${name}`);
}

// ---- encodings and line ends ------------------------------------------------------------------------------------

export type TextEncoding = 'utf-8' | 'utf-8-bom' | 'utf-16le' | 'utf-16be' | 'windows-1252';
export const TEXT_ENCODINGS: readonly TextEncoding[] = ['utf-8', 'utf-8-bom', 'utf-16le', 'utf-16be', 'windows-1252'];

/** Bytes of `text` as Excel and NAV write them; the UTF-16 forms always carry a BOM ("Unicode text"). */
export function encodeText(text: string, encoding: TextEncoding): Uint8Array {
  switch (encoding) {
    case 'utf-8':
      return Buffer.from(text, 'utf8');
    case 'utf-8-bom':
      return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text, 'utf8')]);
    case 'utf-16le':
      return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
    case 'utf-16be':
      return Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(text, 'utf16le').swap16()]);
    case 'windows-1252':
      return encodeWindows1252(text);
  }
}

export type LineEnd = '\n' | '\r\n' | '\r';

/** `text` (LF line ends) with other line ends. */
export function withLineEnds(text: string, eol: LineEnd): string {
  return eol === '\n' ? text : text.replace(/\n/g, eol);
}

/** Replaces the space in grouped numbers ("14 402") of every data cell with another separator. */
export function withThousandsSeparator(text: string, separator: string): string {
  return text
    .split('\n')
    .map((line) => {
      if (!line.includes('\t')) return line;
      const [label, ...cells] = line.split('\t');
      return [label, ...cells.map((c) => (/^\d{1,3}( \d{3})+$/.test(c) ? c.replace(/ /g, separator) : c))].join('\t');
    })
    .join('\n');
}

// ---- parsing helpers --------------------------------------------------------------------------------------------

/** What a parse ends in: records and summary, or the ParseError's fields. Equal outcomes compare deep-equal. */
export type Outcome =
  | { ok: true; records: Observation[]; summary: ParseSummary }
  | { ok: false; error: { code: string; file: string; line: number; column: number | undefined; message: string } };

/** Feeds `chunks` to one parser, as a stream would. Anything thrown but a ParseError propagates (a crash). */
export function parseChunked(chunks: Iterable<Uint8Array>, file = 'export.txt'): Outcome {
  const parser = new ExportParser({ file });
  try {
    const records: Observation[] = [];
    for (const chunk of chunks) records.push(...parser.write(chunk));
    records.push(...parser.end());
    return { ok: true, records, summary: parser.summary() };
  } catch (e) {
    if (!(e instanceof ParseError)) throw e;
    return { ok: false, error: { code: e.code, file: e.file, line: e.line, column: e.column, message: e.message } };
  }
}

export function parseWhole(bytes: Uint8Array, file = 'export.txt'): Outcome {
  return parseChunked([bytes], file);
}

const serialized = new WeakMap<object, string>();

/**
 * Deep equality for large plain values (thousands of records) checked many times: a string comparison first,
 * since toEqual on every chunk split would take most of the suite's time; toEqual only to show a difference, with
 * `context` (say, where the chunks were split) beside it.
 */
export function expectSame<T extends object>(actual: T, expected: T, context?: unknown): void {
  let want = serialized.get(expected);
  if (want === undefined) {
    want = JSON.stringify(expected);
    serialized.set(expected, want);
  }
  if (JSON.stringify(actual) !== want) expect({ context, value: actual }).toEqual({ context, value: expected });
}

/** The chunks of `bytes` cut at the given (ascending) offsets. */
export function splitAt(bytes: Uint8Array, offsets: readonly number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let from = 0;
  for (const at of offsets) {
    out.push(bytes.subarray(from, at));
    from = at;
  }
  out.push(bytes.subarray(from));
  return out;
}

export function* singleBytes(bytes: Uint8Array): Generator<Uint8Array> {
  for (let i = 0; i < bytes.length; i++) yield bytes.subarray(i, i + 1);
}

/** The error of a parse that must fail, for assertions on its fields. */
export function parseError(bytes: Uint8Array, file: string, options: { maxLineLength?: number } = {}): ParseError {
  const parser = new ExportParser({ file, ...options });
  try {
    parser.write(bytes);
    parser.end();
  } catch (e) {
    if (e instanceof ParseError) return e;
    throw e;
  }
  throw new Error(`${file} parsed without an error`);
}

// ---- the vocabulary of generated exports -----------------------------------------------------------------------

export const MONTHS = [
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

/** Table titles as printed, with the dataset slug each must give. */
export const TITLES: ReadonlyArray<{ title: string; dataset: string }> = [
  {
    title: 'Deltakere i arbeidsrettede tiltak. Tiltaksgruppe og fylke. Tidsserie måned',
    dataset: 'deltakere-i-arbeidsrettede-tiltak-tiltaksgruppe-og-fylke-tidsserie-maned',
  },
  {
    title: 'Arbeidssøkere på tiltak. Fylke og tiltaksgruppe. Tidsserie måned',
    dataset: 'arbeidssokere-pa-tiltak-fylke-og-tiltaksgruppe-tidsserie-maned',
  },
  { title: 'Tiltaksdeltakere etter fylke – Månedlig', dataset: 'tiltaksdeltakere-etter-fylke-manedlig' },
];

/** Measure groups as printed in a heading, and as the records name them. */
export const MEASURES: ReadonlyArray<{ printed: string; group: string }> = [
  { printed: 'opplæring', group: 'Opplæring' },
  { printed: 'avklaringstiltak', group: 'Avklaringstiltak' },
  { printed: 'oppfølging', group: 'Oppfølging' },
  { printed: 'arbeidspraksis', group: 'Arbeidspraksis' },
  { printed: 'tilrettelagt arbeid', group: 'Tilrettelagt arbeid' },
  { printed: 'lønnstilskudd', group: 'Lønnstilskudd' },
  { printed: 'tilrettelegging', group: 'Tilrettelegging' },
  { printed: 'arbeidsrettet rehabilitering', group: 'Arbeidsrettet rehabilitering' },
  { printed: 'jobbskaping og egenetablering', group: 'Jobbskaping og egenetablering' },
];

export const MAIN_GROUPS = ['I alt', 'Nedsatt arbeidsevne', 'Arbeidssøkere', 'Andre'] as const;
export type MainGroup = (typeof MAIN_GROUPS)[number];

/** The heading of a section as NAV prints it (before wrapping). */
export function headingOf(main: MainGroup, measure: string): string {
  switch (main) {
    case 'I alt':
      return measure.charAt(0).toUpperCase() + measure.slice(1);
    case 'Nedsatt arbeidsevne':
      return `Nedsatt arbeidsevne, på tiltak, ${measure}`;
    default:
      return `${main} på tiltak, ${measure}`;
  }
}

export function breakdownOf(main: MainGroup): string {
  return main === 'I alt' ? 'Fylke og tiltaksgruppe' : 'Fylke, hovedgrupper og tiltaksgrupper';
}

/** Counties by year, from the issue: the 2020 and 2024 reforms, and Trøndelag merged in 2018. */
export function countiesFor(year: number): ReadonlyArray<{ name: string; code: string }> {
  const list = (...pairs: string[]) =>
    pairs.map((p) => {
      const [code = '', name = ''] = p.split('=');
      return { name, code };
    });
  if (year >= 2024) {
    return list(
      ...['31=Østfold', '32=Akershus', '03=Oslo', '34=Innlandet', '33=Buskerud', '39=Vestfold', '40=Telemark', '42=Agder'],
      ...['11=Rogaland', '46=Vestland', '15=Møre og Romsdal', '50=Trøndelag', '18=Nordland', '55=Troms', '56=Finnmark'],
    );
  }
  if (year >= 2020) {
    return list(
      ...['30=Viken', '03=Oslo', '34=Innlandet', '38=Vestfold og Telemark', '42=Agder', '11=Rogaland', '46=Vestland'],
      ...['15=Møre og Romsdal', '50=Trøndelag', '18=Nordland', '54=Troms og Finnmark'],
    );
  }
  return list(
    ...['01=Østfold', '02=Akershus', '03=Oslo', '04=Hedmark', '05=Oppland', '06=Buskerud', '07=Vestfold', '08=Telemark'],
    ...['09=Aust-Agder', '10=Vest-Agder', '11=Rogaland', '12=Hordaland', '14=Sogn og Fjordane', '15=Møre og Romsdal'],
    ...(year >= 2018 ? ['50=Trøndelag'] : ['16=Sør-Trøndelag', '17=Nord-Trøndelag']),
    ...['18=Nordland', '19=Troms', '20=Finnmark'],
  );
}

/** Sami (and Kven) forms printed after " - " in later exports. */
export const SAMI_NAMES: Readonly<Record<string, string>> = {
  Oslo: 'Oslove',
  Trøndelag: 'Trööndelage',
  Nordland: 'Nordlánnda',
  'Troms og Finnmark': 'Romsa ja Finnmárku',
  Troms: 'Romsa - Tromssa',
  Finnmark: 'Finnmárku - Finmarkku',
};

// ---- building an export -----------------------------------------------------------------------------------------

export interface RowSpec {
  /** The label as printed (may carry a Sami form and trailing spaces). */
  label: string;
  /** What the record's region and region_code must be. */
  region: string;
  code: string | null;
  /** One per header month; null is a suppressed value ("*"). */
  values: Array<number | null>;
}

export interface SectionSpec {
  breakdown: string;
  /** The heading, wrapped over one or more lines. */
  headingLines: string[];
  mainGroup: string;
  measureGroup: string;
  periodLine: string;
  year: number;
  /** Header month names as printed; they are months firstMonth, firstMonth + 1, ... */
  headerMonths: string[];
  firstMonth: number;
  /** A tab after the last header month, as some exports have. */
  trailingTab?: boolean;
  rows: RowSpec[];
}

export interface ExportSpec {
  title: string;
  dataset: string;
  /** The last month of the first section's period, `YYYY-MM`. */
  vintage: string;
  /** The "Om tabellene" block NAV puts before the first section. */
  notes?: boolean;
  leadingBlankLines?: number;
  /** Blank lines between the rows of one section and the title of the next. */
  gap?: number;
  separator?: string;
  sections: SectionSpec[];
  eol?: LineEnd;
  /** Whether the last row ends with a line break. */
  finalNewline?: boolean;
}

/** Formats a count as NAV does: groups of three digits split by a space (or NBSP, U+202F). */
export function formatValue(value: number | null, separator = ' '): string {
  if (value === null) return '*';
  return String(value).replace(/\B(?=(\d{3})+(?!\d))/g, separator);
}

export function renderExport(spec: ExportSpec): string {
  const sep = spec.separator ?? ' ';
  const lines: string[] = [];
  for (let i = 0; i < (spec.leadingBlankLines ?? 0); i++) lines.push('');
  if (spec.notes) {
    const first = spec.sections[0];
    lines.push(spec.title, '', 'Om tabellene', '', first?.periodLine ?? '', '');
    lines.push('"Om statistikken - Arbeidssøkere" finner du på nav.no ved å følge lenken under relatert informasjon.', '');
    lines.push(
      'I henhold til Statistikklovens § 2-6 har NAV valgt å erstatte verdier i celler hvor tallene er mindre enn 4 med spesialtegn «*».',
      '',
    );
    lines.push('', '');
  }
  spec.sections.forEach((s, i) => {
    if (i > 0) for (let g = 0; g < (spec.gap ?? 3); g++) lines.push('');
    lines.push(spec.title, '', s.breakdown, '', s.periodLine, '', ...s.headingLines, '');
    lines.push(`\t${s.headerMonths.join('\t')}${s.trailingTab ? '\t' : ''}`);
    for (const row of s.rows) lines.push(`${row.label}\t${row.values.map((v) => formatValue(v, sep)).join('\t')}`);
  });
  const text = lines.join('\n') + (spec.finalNewline === false ? '' : '\n');
  return withLineEnds(text, spec.eol ?? '\n');
}

/** The records the parser must give for `spec`, in file order. */
export function expectedRecords(spec: ExportSpec, sourceKey: string): Observation[] {
  const out: Observation[] = [];
  for (const s of spec.sections) {
    for (const row of s.rows) {
      row.values.forEach((value, i) => {
        const month = s.firstMonth + i;
        out.push({
          dataset: spec.dataset,
          table_title: spec.title,
          breakdown: s.breakdown,
          main_group: s.mainGroup,
          measure_group: s.measureGroup,
          region: row.region,
          region_code: row.code,
          year: s.year,
          month,
          period: `${s.year}-${String(month).padStart(2, '0')}`,
          value,
          suppressed: value === null,
          source_key: sourceKey,
          source_vintage: spec.vintage,
          ingested_at: null,
          upload_rank: null,
          section_rank: null,
        });
      });
    }
  }
  return out;
}

export interface CountySectionOptions {
  year: number;
  firstMonth: number;
  lastMonth: number;
  main: MainGroup;
  measure: { printed: string; group: string };
  /** values[row][month]: county rows in countiesFor(year) order, then the extra rows; null is "*". */
  values: Array<Array<number | null>>;
  extraRows?: ReadonlyArray<'Øvrige områder' | 'Ukjent'>;
  periodLine?: string;
  headerMonths?: string[];
  headingLines?: string[];
  /** Which counties print their Sami form, and how much of it (a cut form keeps `length` characters). */
  sami?: (county: string) => { length: number; trailingSpaces: number } | null;
  trailingTab?: boolean;
}

/**
 * A county section as NAV prints it: "I alt" first, then the year's counties, then the extra rows. "I alt" is the
 * sum of the rows below it in each month where none is suppressed (otherwise it is the sum plus 5, as a stand-in
 * for the hidden small numbers), so that a correct parse raises no TOTALS_MISMATCH.
 */
export function countySection(o: CountySectionOptions): SectionSpec {
  const counties = countiesFor(o.year);
  const extras = o.extraRows ?? [];
  const months = o.lastMonth - o.firstMonth + 1;
  const rows: RowSpec[] = [];
  const labels = [
    ...counties.map((c) => ({ name: c.name, code: c.code as string | null })),
    ...extras.map((name) => ({ name, code: null })),
  ];
  labels.forEach((c, r) => {
    const sami = SAMI_NAMES[c.name] === undefined ? null : (o.sami?.(c.name) ?? null);
    const samiForm = SAMI_NAMES[c.name] ?? '';
    const label = sami === null ? c.name : `${c.name} - ${samiForm.slice(0, sami.length)}`.trimEnd() + ' '.repeat(sami.trailingSpaces);
    const values = Array.from({ length: months }, (_, m) => {
      const v = o.values[r]?.[m];
      return v === undefined ? 0 : v;
    });
    rows.push({ label, region: c.name, code: c.code, values });
  });
  const totals = Array.from({ length: months }, (_, m) => {
    const column = rows.map((row) => row.values[m] ?? null);
    const sum = column.reduce<number>((a, v) => a + (v ?? 0), 0);
    return column.some((v) => v === null) ? sum + 5 : sum;
  });
  const heading = headingOf(o.main, o.measure.printed);
  const totalLabel = `I alt ${heading.charAt(0).toLowerCase()}${heading.slice(1)}`;
  rows.unshift({ label: totalLabel, region: 'I alt', code: null, values: totals });
  return {
    breakdown: breakdownOf(o.main),
    headingLines: o.headingLines ?? [heading],
    mainGroup: o.main,
    measureGroup: o.measure.group,
    periodLine: o.periodLine ?? periodLine(o.firstMonth, o.lastMonth, o.year),
    year: o.year,
    headerMonths: o.headerMonths ?? MONTHS.slice(o.firstMonth - 1, o.lastMonth),
    firstMonth: o.firstMonth,
    trailingTab: o.trailingTab ?? false,
    rows,
  };
}

export function periodLine(firstMonth: number, lastMonth: number, year: number): string {
  return `${MONTHS[firstMonth - 1]} - ${MONTHS[lastMonth - 1]} ${year}`;
}

export function vintageOf(year: number, lastMonth: number): string {
  return `${year}-${String(lastMonth).padStart(2, '0')}`;
}

/** Records without the field that names the upload, to compare re-encoded copies of one export. */
export function withoutSourceKey(records: readonly Observation[]): Array<Omit<Observation, 'source_key'>> {
  return records.map(({ source_key: _, ...rest }) => rest);
}
