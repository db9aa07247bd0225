/**
 * County (fylke) numbers change with the reforms of 2018, 2020 and 2024, so a name maps to a code only within the
 * months it was valid. Names are matched as printed in the exports, after the Sami form is removed. Every fact comes
 * from the reviewed region table (lambdas/regions/region-table.ts), which the lake's `regions` table is written from:
 * the codes the parser assigns and the rows analysts join on cannot disagree.
 */
import { periodOf, REGIONS, validAt } from '../regions/region-table.ts';

/** Rows that are regions but not counties: they carry no code and are not warned about. */
export const NON_COUNTY_REGIONS: ReadonlySet<string> = new Set(REGIONS.filter((r) => r.kind === 'other').map((r) => r.name));

export const TOTAL_REGION = 'I alt';

const COUNTIES = REGIONS.filter((r) => r.kind === 'county');

/**
 * The Norwegian name of a row label: the Sami form after " - " goes (it is sometimes cut, or followed by spaces),
 * while hyphens inside names such as "Aust-Agder" stay.
 */
export function norwegianName(label: string): string {
  const trimmed = label.trim();
  const dash = trimmed.search(/\s-(\s|$)/u);
  return (dash === -1 ? trimmed : trimmed.slice(0, dash)).trim();
}

/** Counties valid in January of each year: the reforms all took effect on 1 January, so January stands for the year. */
const byYear = new Map<number, ReadonlyMap<string, string>>();

function countyCodes(year: number): ReadonlyMap<string, string> {
  let codes = byYear.get(year);
  if (!codes) {
    const period = periodOf(year, 1);
    codes = new Map(COUNTIES.filter((r) => validAt(r, period)).map((r) => [r.name, r.region_code ?? '']));
    byYear.set(year, codes);
  }
  return codes;
}

/** The code `name` had in `year`; null for a name that was no county then (the parser warns: UNKNOWN_REGION). */
export function countyCode(name: string, year: number): string | null {
  return countyCodes(year).get(name) ?? null;
}

/** The counties valid in a year, in code order; used by generators and tests. */
export function countiesOf(year: number): Array<{ name: string; code: string }> {
  return [...countyCodes(year)].map(([name, code]) => ({ name, code })).sort((a, b) => a.code.localeCompare(b.code));
}
