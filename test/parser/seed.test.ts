// The real 2019 export, pinned completely: counts, spot values, every section's groups, the cut-off tail and the
// totals invariants recomputed from the parsed records.
import { readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseBytes, type ParseResult } from '../../lambdas/parser/index.ts';
import type { Observation } from '../../lambdas/schema/columns.ts';

const SEED = new URL('../../fixtures/nav-tiltak-fylke-2019.txt', import.meta.url);
const MEASURES = [
  'Opplæring',
  'Avklaringstiltak',
  'Oppfølging',
  'Arbeidspraksis',
  'Tilrettelagt arbeid',
  'Lønnstilskudd',
  'Tilrettelegging',
  'Arbeidsrettet rehabilitering',
  'Jobbskaping og egenetablering',
];

let result: ParseResult;
let records: Observation[];

beforeAll(async () => {
  result = parseBytes(await readFile(SEED), { file: 'nav-tiltak-fylke-2019.txt' });
  records = result.records;
});

function find(q: Partial<Observation>): Observation[] {
  return records.filter((r) => Object.entries(q).every(([k, v]) => r[k as keyof Observation] === v));
}

describe('the 2019 seed export', () => {
  it('yields 7,430 records of which 1,186 are suppressed, from 32 sections', () => {
    expect(records).toHaveLength(7430);
    expect(records.filter((r) => r.suppressed)).toHaveLength(1186);
    expect(result.summary).toMatchObject({ sections: 32, records: 7430, suppressed: 1186, encoding: 'utf-8', vintage: '2019-12' });
  });

  it('carries the table identity and period on every record', () => {
    const title = 'Deltakere i arbeidsrettede tiltak. Tiltaksgruppe og fylke. Tidsserie måned';
    for (const r of records) {
      expect(r.table_title).toBe(title);
      expect(r.dataset).toBe('deltakere-i-arbeidsrettede-tiltak-tiltaksgruppe-og-fylke-tidsserie-maned');
      expect(r.source_vintage).toBe('2019-12');
      expect(r.year).toBe(2019);
      expect(r.period).toBe(`2019-${String(r.month).padStart(2, '0')}`);
      expect(r.source_key).toBe('nav-tiltak-fylke-2019.txt');
      expect(r.ingested_at).toBeNull();
      expect(r.suppressed).toBe(r.value === null);
    }
  });

  it('reads spot values exactly', () => {
    expect(find({ main_group: 'I alt', measure_group: 'Opplæring', region: 'I alt', month: 1 })).toEqual([
      expect.objectContaining({ value: 14402, region_code: null, breakdown: 'Fylke og tiltaksgruppe' }),
    ]);
    expect(find({ main_group: 'I alt', measure_group: 'Opplæring', region: 'Østfold', month: 1 })).toEqual([
      expect.objectContaining({ value: 858, region_code: '01' }),
    ]);
    expect(find({ main_group: 'I alt', measure_group: 'Opplæring', region: 'Trøndelag', month: 12 })[0]).toMatchObject({
      value: 1021,
      region_code: '50',
    });
    expect(find({ main_group: 'I alt', measure_group: 'Opplæring', region: 'Øvrige områder', month: 3 })[0]).toMatchObject({
      value: null,
      suppressed: true,
      region_code: null,
    });
    expect(find({ main_group: 'Arbeidssøkere', measure_group: 'Opplæring', region: 'Ukjent', month: 4 })[0]).toMatchObject({
      value: 4,
      suppressed: false,
      breakdown: 'Fylke, hovedgrupper og tiltaksgrupper',
    });
  });

  it("names every section's main and measure group", () => {
    const sections = [...new Set(records.map((r) => `${r.main_group} / ${r.measure_group}`))];
    expect(sections).toEqual([
      ...MEASURES.map((m) => `I alt / ${m}`),
      ...MEASURES.map((m) => `Nedsatt arbeidsevne / ${m}`),
      ...['Opplæring', 'Avklaringstiltak', 'Oppfølging', 'Arbeidspraksis', 'Lønnstilskudd', 'Jobbskaping og egenetablering'].map(
        (m) => `Arbeidssøkere / ${m}`,
      ),
      ...MEASURES.filter((m) => m !== 'Tilrettelagt arbeid').map((m) => `Andre / ${m}`),
    ]);
  });

  it('gives each county its 2019 code and none to the other rows', () => {
    const codes = new Map(records.map((r) => [r.region, r.region_code]));
    expect(Object.fromEntries(codes)).toEqual({
      'I alt': null,
      Østfold: '01',
      Akershus: '02',
      Oslo: '03',
      Hedmark: '04',
      Oppland: '05',
      Buskerud: '06',
      Vestfold: '07',
      Telemark: '08',
      'Aust-Agder': '09',
      'Vest-Agder': '10',
      Rogaland: '11',
      Hordaland: '12',
      'Sogn og Fjordane': '14',
      'Møre og Romsdal': '15',
      Nordland: '18',
      Troms: '19',
      Finnmark: '20',
      'Øvrige områder': null,
      Ukjent: null,
      Trøndelag: '50',
    });
  });

  it('keeps the two January cells of the cut-off section and warns about it', () => {
    const tail = find({ main_group: 'Andre', measure_group: 'Jobbskaping og egenetablering' });
    expect(tail.map((r) => [r.region, r.month, r.value, r.suppressed])).toEqual([
      ['I alt', 1, null, true],
      ['Østfold', 1, null, true],
    ]);
    expect(result.summary.warnings).toEqual([expect.objectContaining({ code: 'CUT_OFF', section: 32, line: 1042 })]);
    const message = result.summary.warnings[0]?.message ?? '';
    expect(message).toContain('Andre på tiltak, jobbskaping og egenetablering');
    expect(message).toContain('Februar–Desember 2019 missing');
    expect(message).toContain('one-cell-per-line');
  });

  it('has county rows that add up to "I alt" wherever nothing is suppressed', () => {
    const bySectionMonth = new Map<string, Observation[]>();
    for (const r of records) {
      const key = `${r.main_group}|${r.measure_group}|${r.month}`;
      bySectionMonth.set(key, [...(bySectionMonth.get(key) ?? []), r]);
    }
    let checked = 0;
    for (const rows of bySectionMonth.values()) {
      if (rows.some((r) => r.suppressed) || rows.length < 2) continue;
      const total = rows.find((r) => r.region === 'I alt')?.value;
      const sum = rows.filter((r) => r.region !== 'I alt').reduce((s, r) => s + (r.value ?? 0), 0);
      expect(sum).toBe(total);
      checked++;
    }
    expect(checked).toBe(30);
  });

  it('has main groups that add up to the all-groups total wherever nothing is suppressed', () => {
    let checked = 0;
    for (const measure of MEASURES) {
      for (let month = 1; month <= 12; month++) {
        const totals = find({ measure_group: measure, region: 'I alt', month });
        const all = totals.find((r) => r.main_group === 'I alt');
        const mains = totals.filter((r) => r.main_group !== 'I alt');
        if (!all || mains.length !== 3 || totals.some((r) => r.suppressed)) continue;
        expect(mains.reduce((s, r) => s + (r.value ?? 0), 0)).toBe(all.value);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(50);
  });

  it('emits records in file order: section, row, month', () => {
    const first = records.slice(0, 13).map((r) => [r.region, r.month]);
    expect(first).toEqual([...Array.from({ length: 12 }, (_, i) => ['I alt', i + 1]), ['Østfold', 1]]);
  });
});
