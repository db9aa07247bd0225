/**
 * The region groups of the reviewed region table (region-table.ts, whose header cites the sources): which area each
 * county code belongs to across the reforms. Kept apart from the table so the ingest Lambda, which only assigns codes,
 * does not bundle it.
 *
 * Columns of GROUPS_CSV: region_code (or, for kind `other`, the name), region_group, exact, exact_group. One line per
 * region row; the validity is the region row's.
 */
import type { RegionGroupRow, RegionRow } from '../schema/columns.ts';
import { lines, REGIONS } from './region-table.ts';

/**
 * The groups. `region_group` follows the named area across the reforms (Viken = 01+02+06, then 30, then 31+32+33);
 * `exact` says whether its border never moved. `exact_group` is the smallest union of groups whose outer border never
 * moved from 1972 on, so its series is exact by construction. Why each is (not) exact: docs/regions.md.
 */
const GROUPS_CSV = `
01,Viken,false,Østlandet utenom Oslo
02,Viken,false,Østlandet utenom Oslo
06,Viken,false,Østlandet utenom Oslo
30,Viken,false,Østlandet utenom Oslo
31,Viken,false,Østlandet utenom Oslo
32,Viken,false,Østlandet utenom Oslo
33,Viken,false,Østlandet utenom Oslo
04,Innlandet,false,Østlandet utenom Oslo
05,Innlandet,false,Østlandet utenom Oslo
34,Innlandet,false,Østlandet utenom Oslo
07,Vestfold og Telemark,false,Østlandet utenom Oslo
08,Vestfold og Telemark,false,Østlandet utenom Oslo
38,Vestfold og Telemark,false,Østlandet utenom Oslo
39,Vestfold og Telemark,false,Østlandet utenom Oslo
40,Vestfold og Telemark,false,Østlandet utenom Oslo
03,Oslo,true,Oslo
09,Agder,true,Agder
10,Agder,true,Agder
42,Agder,true,Agder
11,Rogaland,true,Rogaland
12,Vestland,false,"Vestland, Møre og Romsdal og Trøndelag"
14,Vestland,false,"Vestland, Møre og Romsdal og Trøndelag"
46,Vestland,false,"Vestland, Møre og Romsdal og Trøndelag"
15,Møre og Romsdal,false,"Vestland, Møre og Romsdal og Trøndelag"
16,Trøndelag,false,"Vestland, Møre og Romsdal og Trøndelag"
17,Trøndelag,false,"Vestland, Møre og Romsdal og Trøndelag"
50,Trøndelag,false,"Vestland, Møre og Romsdal og Trøndelag"
18,Nordland,false,Nord-Norge
19,Troms og Finnmark,false,Nord-Norge
20,Troms og Finnmark,false,Nord-Norge
54,Troms og Finnmark,false,Nord-Norge
55,Troms og Finnmark,false,Nord-Norge
56,Troms og Finnmark,false,Nord-Norge
Øvrige områder,Øvrige områder,true,Øvrige områder
Ukjent,Ukjent,true,Ukjent
`;

function parseGroups(csv: string, regions: readonly RegionRow[]): RegionGroupRow[] {
  const byKey = new Map(regions.map((r) => [r.region_code ?? r.name, r]));
  const rows = lines(csv).map((f, i) => {
    const [key = '', group = '', exact = '', exactGroup = ''] = f;
    const region = byKey.get(key);
    if (f.length !== 4 || !region || (exact !== 'true' && exact !== 'false') || group === '' || exactGroup === '') {
      throw new Error(`region group line ${i + 1}: ${f.join(',')}`);
    }
    byKey.delete(key);
    return {
      region_code: region.region_code,
      region: region.name,
      valid_from: region.valid_from,
      valid_to: region.valid_to,
      region_group: group,
      exact: exact === 'true',
      exact_group: exactGroup,
    };
  });
  if (byKey.size > 0) throw new Error(`regions without a group: ${[...byKey.keys()].join(', ')}`);
  return rows;
}

export const REGION_GROUPS: readonly RegionGroupRow[] = Object.freeze(parseGroups(GROUPS_CSV, REGIONS));
