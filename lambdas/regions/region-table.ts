/**
 * Norway's counties (fylker) as NAV's exports name them, with the codes valid in each period, and the groups that let
 * a series be followed across the county reforms of 2018, 2020 and 2024. This file is the one reviewed source of
 * truth: the parser assigns `region_code` from it (lambdas/parser/regions.ts), and the lake's `regions` and
 * `region_groups` tables (Athena and the local DuckDB views) are written from it (reference-objects.ts).
 *
 * Kept as CSV text in a module, not a .csv file beside it, because the ingest Lambda is one esbuild bundle and the CLI
 * runs through tsx: an import travels with both, a file read from disk would need copying into the bundle.
 *
 * Sources (retrieved 2026-11-29; see docs/regions.md for which fact came from where):
 * - SSB, KLASS classification 104 "Standard for fylkesinndeling":
 *     https://www.ssb.no/klass/klassifikasjoner/104
 *     API: https://data.ssb.no/api/klass/v1/classifications/104/codesAt?date=2020-01-01, as captured in SSB's own
 *     repository statisticsnorway/mimir (src/test/resources/lib/klass/counties-test.es6, commit 5c55c228, 2020-08-20):
 *     codes 03 11 15 18 30 34 38 42 46 50 54 (and 99 Uoppgitt) with their names, e.g. "Trøndelag - Trööndelage",
 *     "Troms og Finnmark - Romsa ja Finnmárku", "Nordland"
 *     https://data.ssb.no/api/klass/v1/classifications/104/changes?from=2019-12-31&to=2024-01-02
 * - SSB's county map data for 2020 and 2024 (statisticsnorway/mimir, src/main/resources/assets/mapdata/{2020,2024}/
 *   norge-fylkesinndelt.geo.json and no-fylke-XX.geo.json): the 2024 codes and official names ("Nordland -
 *   Nordlánnda", "Trøndelag - Trööndelage", "Troms - Romsa - Tromssa", "Finnmark - Finnmárku - Finmarkku") and
 *   which municipalities each county holds in 2020 and 2024.
 * - SSB's municipality change list 2019 -> 2020 (KLASS 131 changes, as republished in BergensTidende/bord4-data,
 *   data/csv/norwegian_regions_changes.csv): every municipality's county before and after 1 January 2020.
 * - Prop. 88 L (2020-2021), regjeringen.no: Nordland's official Lule Sami name Nordlánnda.
 *
 * Columns of REGIONS_CSV: region_code, name, sami_name, official_name, kind, valid_from, valid_to. An empty field is
 * null. `kind` is `county` or `other` (the rows NAV prints that are no county: no code, never warned about).
 * `sami_name` is the Sami part of the official name SSB gives the code (Kven forms stay in official_name only), as
 * SSB lists it for the code's latest period: a name added while the code and its area stayed the same (Nordlánnda,
 * 2021) does not split the row.
 *
 * The groups are in region-groups.ts, a module of their own so that the ingest Lambda's bundle carries only this one.
 */
import type { RegionRow } from '../schema/columns.ts';

/** Counties existed unchanged from 1 January 1972 (Bergen, 13, joined Hordaland) until Trøndelag in 2018. */
const REGIONS_CSV = `
01,Østfold,,Østfold,county,1972-01,2019-12
02,Akershus,,Akershus,county,1972-01,2019-12
03,Oslo,,Oslo,county,1972-01,
04,Hedmark,,Hedmark,county,1972-01,2019-12
05,Oppland,,Oppland,county,1972-01,2019-12
06,Buskerud,,Buskerud,county,1972-01,2019-12
07,Vestfold,,Vestfold,county,1972-01,2019-12
08,Telemark,,Telemark,county,1972-01,2019-12
09,Aust-Agder,,Aust-Agder,county,1972-01,2019-12
10,Vest-Agder,,Vest-Agder,county,1972-01,2019-12
11,Rogaland,,Rogaland,county,1972-01,
12,Hordaland,,Hordaland,county,1972-01,2019-12
14,Sogn og Fjordane,,Sogn og Fjordane,county,1972-01,2019-12
15,Møre og Romsdal,,Møre og Romsdal,county,1972-01,
16,Sør-Trøndelag,,Sør-Trøndelag,county,1972-01,2017-12
17,Nord-Trøndelag,,Nord-Trøndelag,county,1972-01,2017-12
18,Nordland,Nordlánnda,Nordland - Nordlánnda,county,1972-01,
19,Troms,Romsa,Troms - Romsa,county,1972-01,2019-12
20,Finnmark,Finnmárku,Finnmark - Finnmárku,county,1972-01,2019-12
50,Trøndelag,Trööndelage,Trøndelag - Trööndelage,county,2018-01,
30,Viken,,Viken,county,2020-01,2023-12
34,Innlandet,,Innlandet,county,2020-01,
38,Vestfold og Telemark,,Vestfold og Telemark,county,2020-01,2023-12
42,Agder,,Agder,county,2020-01,
46,Vestland,,Vestland,county,2020-01,
54,Troms og Finnmark,Romsa ja Finnmárku,Troms og Finnmark - Romsa ja Finnmárku,county,2020-01,2023-12
31,Østfold,,Østfold,county,2024-01,
32,Akershus,,Akershus,county,2024-01,
33,Buskerud,,Buskerud,county,2024-01,
39,Vestfold,,Vestfold,county,2024-01,
40,Telemark,,Telemark,county,2024-01,
55,Troms,Romsa,Troms - Romsa - Tromssa,county,2024-01,
56,Finnmark,Finnmárku,Finnmark - Finnmárku - Finmarkku,county,2024-01,
,Øvrige områder,,Øvrige områder,other,1972-01,
,Ukjent,,Ukjent,other,1972-01,
`;

/** One CSV line: commas separate, double quotes enclose a field holding commas (no field holds a quote). */
function fields(line: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|([^,]*)/gy;
  let pos = 0;
  for (;;) {
    re.lastIndex = pos;
    const m = re.exec(line);
    out.push(m?.[1] ?? m?.[2] ?? '');
    pos = re.lastIndex;
    if (pos >= line.length || line[pos] !== ',') break;
    pos++;
  }
  return out;
}

export function lines(csv: string): string[][] {
  return csv
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .map(fields);
}

const PERIOD = /^\d{4}-(0[1-9]|1[0-2])$/;

function nullable(s: string): string | null {
  return s === '' ? null : s;
}

function parseRegions(csv: string): RegionRow[] {
  return lines(csv).map((f, i) => {
    const [code = '', name = '', sami = '', official = '', kind = '', from = '', to = ''] = f;
    if (f.length !== 7) throw new Error(`region table line ${i + 1}: expected 7 fields, got ${f.length}`);
    if (kind !== 'county' && kind !== 'other') throw new Error(`region table line ${i + 1}: kind ${kind}`);
    if (kind === 'county' ? !/^\d{2}$/.test(code) : code !== '') throw new Error(`region table line ${i + 1}: code ${code}`);
    if (!PERIOD.test(from) || (to !== '' && (!PERIOD.test(to) || to < from))) {
      throw new Error(`region table line ${i + 1}: validity ${from}..${to}`);
    }
    return {
      region_code: nullable(code),
      name,
      sami_name: nullable(sami),
      official_name: official,
      kind,
      valid_from: from,
      valid_to: nullable(to),
    };
  });
}

export const REGIONS: readonly RegionRow[] = Object.freeze(parseRegions(REGIONS_CSV));

/** `YYYY-MM` of a year and month. */
export function periodOf(year: number, month: number): string {
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}`;
}

/** Whether `period` (`YYYY-MM`) lies in a row's validity; `valid_to` null means still valid. */
export function validAt(row: { valid_from: string; valid_to: string | null }, period: string): boolean {
  return row.valid_from <= period && (row.valid_to === null || period <= row.valid_to);
}

/** The regions valid in `period`, counties in code order, then the other rows. */
export function regionsAt(period: string): RegionRow[] {
  return REGIONS.filter((r) => validAt(r, period)).sort(
    (a, b) => (a.kind === b.kind ? 0 : a.kind === 'county' ? -1 : 1) || (a.region_code ?? '').localeCompare(b.region_code ?? ''),
  );
}
