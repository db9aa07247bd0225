/** The words and number formats of NAV's exports: months, periods, headings, values and the dataset slug. */
import { createHash } from 'node:crypto';

const MONTHS = [
  'januar',
  'februar',
  'mars',
  'april',
  'mai',
  'juni',
  'juli',
  'august',
  'september',
  'oktober',
  'november',
  'desember',
] as const;

const MONTH_BY_NAME: ReadonlyMap<string, number> = new Map(MONTHS.map((m, i) => [m, i + 1]));

/** 1-12 for a Norwegian month name in any case, else null. */
export function monthNumber(name: string): number | null {
  return MONTH_BY_NAME.get(name.trim().toLowerCase()) ?? null;
}

export function monthName(month: number): string {
  const name = MONTHS[month - 1] ?? '?';
  return name.charAt(0).toUpperCase() + name.slice(1);
}

export interface Period {
  year: number;
  firstMonth: number;
  lastMonth: number;
}

export function periodString(year: number, month: number): string {
  return `${year}-${String(month).padStart(2, '0')}`;
}

/** Lines shaped like a period ("Januar - Desember 2019", "Mars 2020"); whether the words are months is checked after. */
const PERIOD_SHAPE = /^(\p{L}+)(?:\s*-\s*(\p{L}+))?\s+(\d{4})$/u;

export type PeriodParse = { ok: true; period: Period } | { ok: false; reason: string } | null;

/** null when the line does not look like a period at all; a reason when it does but cannot be one. */
export function parsePeriod(line: string): PeriodParse {
  const m = PERIOD_SHAPE.exec(line.trim());
  if (!m) return null;
  const first = monthNumber(m[1] ?? '');
  const last = m[2] === undefined ? first : monthNumber(m[2]);
  const year = Number(m[3]);
  if (first === null || last === null) {
    // A heading such as "Tilrettelagt arbeid 2019" has the shape too; only month-like words make it a bad period.
    return null;
  }
  if (first > last) return { ok: false, reason: `period "${line.trim()}" ends before it starts` };
  if (year < 1990 || year > 2100) return { ok: false, reason: `period "${line.trim()}" has an implausible year` };
  return { ok: true, period: { year, firstMonth: first, lastMonth: last } };
}

export interface Groups {
  mainGroup: string;
  measureGroup: string;
}

export const ALL_GROUPS = 'I alt';

/**
 * "Nedsatt arbeidsevne, på tiltak, opplæring" -> Nedsatt arbeidsevne / Opplæring; a heading without "på tiltak"
 * belongs to no main group. Measure groups are sentence-cased so the same group reads the same in every section.
 */
export function headingGroups(heading: string): Groups {
  // \u00e5 is å: a regular expression literal is the one place the compiled CLI would keep a non-ASCII character.
  const m = /^(.*?),?\s+p\u00e5 tiltak,?\s*(.*)$/iu.exec(heading);
  if (m?.[1] && m[2]) return { mainGroup: m[1].trim(), measureGroup: sentenceCase(m[2]) };
  return { mainGroup: ALL_GROUPS, measureGroup: sentenceCase(heading) };
}

export function sentenceCase(s: string): string {
  const t = s.trim().replace(/\s+/g, ' ');
  return t.charAt(0).toLocaleUpperCase('nb') + t.slice(1).toLocaleLowerCase('nb');
}

export const MAX_DATASET_LENGTH = 120;

/**
 * ASCII slug of a table title, stable across uploads: æ->ae, ø->o, å->a, other marks dropped. A slug longer than
 * MAX_DATASET_LENGTH is cut and ends in `-` and 8 hex digits of the full slug's SHA-256, so that two titles that
 * differ only past the cut stay two datasets.
 */
export function datasetSlug(title: string): string {
  const slug = title
    .toLowerCase()
    .replaceAll('æ', 'ae')
    .replaceAll('ø', 'o')
    .replaceAll('å', 'a')
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  if (slug.length <= MAX_DATASET_LENGTH) return slug;
  const hash = createHash('sha256').update(slug).digest('hex').slice(0, 8);
  // No "--" from a cut after a dash; 111 + 1 + 8 = 120.
  return `${slug.slice(0, MAX_DATASET_LENGTH - 9).replace(/-+$/, '')}-${hash}`;
}

/** A cell: its whole number, or SUPPRESSED_CELL for `*`. A plain number because there is one per value. */
export type CellValue = number;

export const SUPPRESSED_CELL = -1;

function isSeparator(code: number): boolean {
  return code === 0x20 || code === 0xa0 || code === 0x202f;
}

/**
 * `*`, plain digits, or digits in groups of three separated by a space, NBSP or U+202F ("14 402").
 * Returns null for anything else. Hand-rolled because it runs once per value.
 */
export function parseCell(raw: string, from = 0, to = raw.length): CellValue | null {
  let start = from;
  let end = to;
  while (start < end && raw.charCodeAt(start) === 0x20) start++;
  while (end > start && raw.charCodeAt(end - 1) === 0x20) end--;
  if (end - start === 1 && raw.charCodeAt(start) === 0x2a) return SUPPRESSED_CELL;
  if (end === start) return null;
  let value = 0;
  let groupLen = 0;
  let sawSeparator = false;
  let firstGroupLen = 0;
  for (let i = start; i < end; i++) {
    const c = raw.charCodeAt(i);
    if (c >= 0x30 && c <= 0x39) {
      value = value * 10 + (c - 0x30);
      groupLen++;
    } else if (isSeparator(c)) {
      if (groupLen === 0) return null;
      if (!sawSeparator) {
        if (groupLen > 3) return null;
        firstGroupLen = groupLen;
        sawSeparator = true;
      } else if (groupLen !== 3) return null;
      groupLen = 0;
    } else return null;
  }
  if (sawSeparator && groupLen !== 3) return null;
  if (!sawSeparator && firstGroupLen === 0 && groupLen === 0) return null;
  if (!Number.isSafeInteger(value) || value > 2_147_483_647) return null;
  return value;
}
