// The region table checked against facts that do not come from it: how many counties each regime had, the Sami names
// the 2024 counties carry, and that no code is valid twice at once. The parser's codes come from the same table.
import { describe, expect, it } from 'vitest';
import { parseBytes } from '../../lambdas/parser/index.ts';
import { countiesOf, countyCode, NON_COUNTY_REGIONS } from '../../lambdas/parser/regions.ts';
import { REGION_GROUPS } from '../../lambdas/regions/region-groups.ts';
import { REGIONS, regionsAt, validAt } from '../../lambdas/regions/region-table.ts';
import { exportSectionsText } from '../helpers/events.ts';

const counties = (period: string) => regionsAt(period).filter((r) => r.kind === 'county');

describe('the regions table', () => {
  it.each([
    ['2017-12', 19],
    ['2018-01', 18],
    ['2019-12', 18],
    ['2020-01', 11],
    ['2023-12', 11],
    ['2024-01', 15],
    ['2026-06', 15],
  ])('has the right number of counties in %s: %i', (period, n) => {
    expect(counties(period)).toHaveLength(n);
  });

  it('holds the codes of SSB classification 104 for each regime', () => {
    const codes = (p: string) => counties(p).map((r) => r.region_code);
    const old = ['01', '02', '03', '04', '05', '06', '07', '08', '09', '10', '11', '12', '14', '15', '18', '19', '20'];
    expect(codes('2017-06')).toEqual([...old.slice(0, 14), '16', '17', ...old.slice(14)]);
    expect(codes('2019-06')).toEqual([...old, '50']);
    expect(codes('2021-06')).toEqual(['03', '11', '15', '18', '30', '34', '38', '42', '46', '50', '54']);
    expect(codes('2024-06')).toEqual(['03', '11', '15', '18', '31', '32', '33', '34', '39', '40', '42', '46', '50', '55', '56']);
  });

  it('gives the 2024 counties their Sami names, and no others', () => {
    const sami = Object.fromEntries(
      counties('2024-01')
        .filter((r) => r.sami_name)
        .map((r) => [r.region_code, r.sami_name]),
    );
    expect(sami).toEqual({ '18': 'Nordlánnda', '50': 'Trööndelage', '55': 'Romsa', '56': 'Finnmárku' });
    const official = Object.fromEntries(counties('2024-01').map((r) => [r.region_code, r.official_name]));
    expect(official['55']).toBe('Troms - Romsa - Tromssa');
    expect(official['56']).toBe('Finnmark - Finnmárku - Finmarkku');
    expect(counties('2021-01').find((r) => r.region_code === '54')?.sami_name).toBe('Romsa ja Finnmárku');
  });

  it('never has one code, or one name, valid twice in a month', () => {
    const months: string[] = [];
    for (let y = 2015; y <= 2027; y++) for (let m = 1; m <= 12; m++) months.push(`${y}-${String(m).padStart(2, '0')}`);
    for (const period of months) {
      const rows = regionsAt(period);
      expect(new Set(rows.map((r) => r.region_code ?? r.name)).size, period).toBe(rows.length);
      expect(new Set(rows.map((r) => r.name)).size, period).toBe(rows.length);
    }
    const byCode = new Map<string, Array<{ valid_from: string; valid_to: string | null }>>();
    for (const r of REGIONS) byCode.set(r.region_code ?? r.name, [...(byCode.get(r.region_code ?? r.name) ?? []), r]);
    for (const [code, rows] of byCode) {
      for (const a of rows) for (const b of rows) if (a !== b) expect(validAt(a, b.valid_from), code).toBe(false);
    }
  });

  it('changes only on 1 January: every validity starts in January and ends in December', () => {
    for (const r of REGIONS) {
      expect(r.valid_from.endsWith('-01'), r.name).toBe(true);
      if (r.valid_to !== null) expect(r.valid_to.endsWith('-12'), r.name).toBe(true);
    }
  });

  it('places Øvrige områder and Ukjent as regions without a code, valid throughout', () => {
    const other = REGIONS.filter((r) => r.kind === 'other');
    expect(other.map((r) => r.name).sort()).toEqual(['Ukjent', 'Øvrige områder']);
    for (const r of other) expect(r).toMatchObject({ region_code: null, valid_to: null });
    expect([...NON_COUNTY_REGIONS].sort()).toEqual(['Ukjent', 'Øvrige områder']);
  });
});

describe('the region groups', () => {
  it('give every region row exactly one group, with the same validity', () => {
    expect(REGION_GROUPS).toHaveLength(REGIONS.length);
    for (const r of REGIONS) {
      const groups = REGION_GROUPS.filter((g) => g.region_code === r.region_code && g.region === r.name);
      expect(groups, r.name).toHaveLength(1);
      expect(groups[0]).toMatchObject({ valid_from: r.valid_from, valid_to: r.valid_to });
    }
  });

  it('cover the same groups in every regime, so a series never stops at a reform', () => {
    const groupsAt = (p: string) => [...new Set(REGION_GROUPS.filter((g) => validAt(g, p)).map((g) => g.region_group))].sort();
    const expected = groupsAt('2019-06');
    expect(expected).toHaveLength(13);
    for (const p of ['2017-06', '2018-06', '2020-06', '2023-12', '2024-01', '2026-06']) expect(groupsAt(p), p).toEqual(expected);
  });

  it('follow Viken as 01+02+06, then 30, then 31+32+33, not exact (Jevnaker, Lunner, Svelvik joined in 2020)', () => {
    const viken = (p: string) =>
      REGION_GROUPS.filter((g) => g.region_group === 'Viken' && validAt(g, p))
        .map((g) => g.region_code)
        .sort();
    expect(viken('2019-12')).toEqual(['01', '02', '06']);
    expect(viken('2020-01')).toEqual(['30']);
    expect(viken('2024-01')).toEqual(['31', '32', '33']);
    expect(REGION_GROUPS.filter((g) => g.region_group === 'Viken').every((g) => !g.exact)).toBe(true);
  });

  it('call exact only groups no municipality crossed, and nest every group in an exact group', () => {
    const exact = [...new Set(REGION_GROUPS.filter((g) => g.exact).map((g) => g.region_group))].sort();
    expect(exact).toEqual(['Agder', 'Oslo', 'Rogaland', 'Ukjent', 'Øvrige områder']);
    for (const g of REGION_GROUPS) {
      const sameGroup = REGION_GROUPS.filter((x) => x.region_group === g.region_group);
      expect(new Set(sameGroup.map((x) => x.exact_group)).size, g.region_group).toBe(1);
      if (g.exact) expect(g.exact_group).toBe(g.region_group);
    }
  });
});

describe('the parser, which takes its codes from the table', () => {
  it('assigns the code valid in each year', () => {
    expect(countyCode('Trøndelag', 2017)).toBeNull();
    expect(countyCode('Sør-Trøndelag', 2017)).toBe('16');
    expect(countyCode('Trøndelag', 2019)).toBe('50');
    expect(countyCode('Viken', 2019)).toBeNull();
    expect(countyCode('Viken', 2023)).toBe('30');
    expect(countyCode('Akershus', 2019)).toBe('02');
    expect(countyCode('Akershus', 2024)).toBe('32');
    expect(countiesOf(2019)).toHaveLength(18);
    expect(countiesOf(2019).map((c) => c.name)).toContain('Trøndelag');
  });

  it('keeps a name the table does not know as an UNKNOWN_REGION warning with a null code, never a silent null', () => {
    const text = exportSectionsText([
      {
        year: 2024,
        firstMonth: 1,
        lastMonth: 1,
        rows: [
          ['Viken', [10]],
          ['Oslo', [20]],
          ['Ukjent', [5]],
        ],
      },
    ]);
    const { records, summary } = parseBytes(Buffer.from(text), { file: 'new-2024.txt' });
    expect(summary.warnings.map((w) => [w.code, w.message])).toEqual([
      ['UNKNOWN_REGION', '"Viken" is not a county of 2024; its region_code is null'],
    ]);
    expect(records.find((r) => r.region === 'Viken')?.region_code).toBeNull();
    expect(records.find((r) => r.region === 'Oslo')?.region_code).toBe('03');
    expect(records.find((r) => r.region === 'Ukjent')?.region_code).toBeNull();
  });
});
