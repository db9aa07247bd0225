// What a parse says about the whole file: its vintage (the latest month any section covers, also on records that
// were streamed before the last section was read), its dataset name (never two titles under one name), and a
// summary-only pass that builds no records.
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExportParser, parseAll, parseBytes, parseFile, summarizeFile } from '../../lambdas/parser/index.ts';
import { datasetSlug } from '../../lambdas/parser/vocabulary.ts';
import type { Observation } from '../../lambdas/schema/columns.ts';
import {
  MEASURES,
  SEED_PATH,
  TITLES,
  countiesFor,
  countySection,
  readBad,
  readSeed,
  renderExport,
  type ExportSpec,
  type MainGroup,
  type SectionSpec,
} from '../helpers/exports.ts';

const TITLE = TITLES[0]!;

/** A county section with plain values (none suppressed), so its "I alt" row adds up. */
function section(year: number, lastMonth: number, main: MainGroup, measure = MEASURES[0]!): SectionSpec {
  const months = lastMonth;
  const values = countiesFor(year).map((_, r) => Array.from({ length: months }, (_, m) => 100 + 7 * r + m));
  return countySection({ year, firstMonth: 1, lastMonth, main, measure, values });
}

/** The vintages the records of each section (`year main_group`) carry. */
function vintagesBySection(records: readonly Observation[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const r of records) {
    const key = `${r.year} ${r.main_group}`;
    const list = out[key] ?? [];
    out[key] = list;
    if (!list.includes(r.source_vintage)) list.push(r.source_vintage);
  }
  return out;
}

// 2018 (January-December) in two sections, then 2019 (January-March): the export covers up to March 2019.
const ASCENDING: ExportSpec = {
  ...TITLE,
  vintage: '2019-03',
  sections: [section(2018, 12, 'I alt'), section(2018, 12, 'Andre'), section(2019, 3, 'I alt')],
};
const ASCENDING_BYTES = Buffer.from(renderExport(ASCENDING));
const ASCENDING_RECORDS = ASCENDING.sections.reduce((n, s) => n + s.rows.length * s.rows[0]!.values.length, 0);

describe('vintage', () => {
  it('is the latest month any section covers, not the first section’s, on the summary and every record', () => {
    const { records, summary } = parseBytes(ASCENDING_BYTES, { file: 'ascending.txt' });
    expect(summary.vintage).toBe('2019-03');
    expect(records).toHaveLength(ASCENDING_RECORDS);
    expect(new Set(records.map((r) => r.source_vintage))).toEqual(new Set(['2019-03']));
    // A later section of an earlier year does not lower it.
    const descending = renderExport({ ...TITLE, vintage: '2019-03', sections: [section(2019, 3, 'I alt'), section(2018, 12, 'I alt')] });
    const parsed = parseBytes(Buffer.from(descending), { file: 'descending.txt' });
    expect(parsed.summary.vintage).toBe('2019-03');
    expect(new Set(parsed.records.map((r) => r.source_vintage))).toEqual(new Set(['2019-03']));
  });

  it('streamed without the option, a record carries the latest month of the sections read before it', () => {
    const parser = new ExportParser({ file: 'ascending.txt' });
    const records = [...parser.write(ASCENDING_BYTES), ...parser.end()];
    expect(vintagesBySection(records)).toEqual({ '2018 I alt': ['2018-12'], '2018 Andre': ['2018-12'], '2019 I alt': ['2019-03'] });
    expect(parser.summary().vintage).toBe('2019-03');
  });

  it('the vintage option is every record’s, streamed or not; the summary still says what the file covers', () => {
    const parser = new ExportParser({ file: 'ascending.txt', vintage: '2020-06' });
    const streamed = [...parser.write(ASCENDING_BYTES), ...parser.end()];
    expect(new Set(streamed.map((r) => r.source_vintage))).toEqual(new Set(['2020-06']));
    expect(parser.summary().vintage).toBe('2019-03');
    const inMemory = parseBytes(ASCENDING_BYTES, { file: 'ascending.txt', vintage: '2020-06' });
    expect(new Set(inMemory.records.map((r) => r.source_vintage))).toEqual(new Set(['2020-06']));
    expect(() => new ExportParser({ file: 'x.txt', vintage: '2020-13' })).toThrow(RangeError);
  });

  describe('parseAll and parseFile', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'navlake-vintage-'));
    });
    afterAll(() => rm(dir, { recursive: true, force: true }));

    it('give every record the final vintage, however the stream is chunked', async () => {
      const chunks = Array.from({ length: Math.ceil(ASCENDING_BYTES.length / 1000) }, (_, i) =>
        ASCENDING_BYTES.subarray(i * 1000, (i + 1) * 1000),
      );
      const all = await parseAll(chunks, { file: 'ascending.txt' });
      expect(all.records).toHaveLength(ASCENDING_RECORDS);
      expect(new Set(all.records.map((r) => r.source_vintage))).toEqual(new Set(['2019-03']));
      const path = join(dir, 'ascending.txt');
      await writeFile(path, ASCENDING_BYTES);
      const file = await parseFile(path);
      expect(file.summary.vintage).toBe('2019-03');
      expect(new Set(file.records.map((r) => r.source_vintage))).toEqual(new Set(['2019-03']));
    });
  });
});

describe('countOnly: a pass for the summary alone', () => {
  it('builds no records and gives the seed’s summary (7,430 records, 1,186 suppressed, 32 sections, the cut at line 1042)', async () => {
    const parser = new ExportParser({ file: 'seed.txt', countOnly: true });
    const bytes = readSeed();
    expect([...parser.write(bytes.subarray(0, 20_000)), ...parser.write(bytes.subarray(20_000)), ...parser.end()]).toEqual([]);
    const summary = parser.summary();
    expect(summary).toMatchObject({ records: 7430, suppressed: 1186, sections: 32, vintage: '2019-12', encoding: 'utf-8' });
    expect(summary.warnings.map((w) => [w.code, w.line])).toEqual([['CUT_OFF', 1042]]);
    expect(await summarizeFile(SEED_PATH)).toMatchObject({ file: 'nav-tiltak-fylke-2019.txt', records: 7430, vintage: '2019-12' });
  });

  it('raises the same errors', () => {
    const parser = new ExportParser({ file: 'duplicate-region.txt', countOnly: true });
    expect(() => {
      parser.write(readBad('duplicate-region.txt'));
      parser.end();
    }).toThrow(expect.objectContaining({ code: 'DUPLICATE_REGION', line: 81 }));
  });
});

describe('dataset names', () => {
  // Two tables whose titles differ only past the 120th character of their slugs.
  const LONG = 'Deltakere i arbeidsrettede tiltak etter fylke, hovedgruppe, tiltaksgruppe, kjønn, aldersgruppe og innvandringsbakgrunn.';
  const MEN = `${LONG} Tidsserie måned, menn`;
  const WOMEN = `${LONG} Tidsserie måned, kvinner`;
  const MEN_SLUG =
    'deltakere-i-arbeidsrettede-tiltak-etter-fylke-hovedgruppe-tiltaksgruppe-kjonn-aldersgruppe-og-innvandringsbakgrunn-tidsserie-maned-menn';
  const WOMEN_SLUG =
    'deltakere-i-arbeidsrettede-tiltak-etter-fylke-hovedgruppe-tiltaksgruppe-kjonn-aldersgruppe-og-innvandringsbakgrunn-tidsserie-maned-kvinner';
  // The first 111 characters of both, then "-" and 8 hex digits of the full slug's SHA-256: 120 in all.
  const CUT = 'deltakere-i-arbeidsrettede-tiltak-etter-fylke-hovedgruppe-tiltaksgruppe-kjonn-aldersgruppe-og-innvandringsbakgr';
  const sha8 = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 8);

  it('two titles that differ only past the length limit stay two datasets, each cut and hashed, at most 120 ASCII characters', () => {
    expect(CUT).toHaveLength(111);
    expect(MEN_SLUG.startsWith(CUT) && WOMEN_SLUG.startsWith(CUT)).toBe(true);
    expect(datasetSlug(MEN)).toBe(`${CUT}-${sha8(MEN_SLUG)}`);
    expect(datasetSlug(WOMEN)).toBe(`${CUT}-${sha8(WOMEN_SLUG)}`);
    for (const slug of [datasetSlug(MEN), datasetSlug(WOMEN)]) {
      expect(slug).toHaveLength(120);
      expect(slug).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
    }
    // A slug of exactly 120 characters is kept as it is, as every shorter one.
    expect(datasetSlug(`${LONG} Tidss`)).toBe(`${CUT}unn-tidss`);
    expect(datasetSlug(TITLE.title)).toBe(TITLE.dataset);
  });

  it('on the summary and on every record', () => {
    const spec = (title: string): ExportSpec => ({ title, dataset: '', vintage: '2019-03', sections: [section(2019, 3, 'I alt')] });
    const men = parseBytes(Buffer.from(renderExport(spec(MEN))), { file: 'men.txt' });
    const women = parseBytes(Buffer.from(renderExport(spec(WOMEN))), { file: 'women.txt' });
    expect([men.summary.dataset, women.summary.dataset]).toEqual([`${CUT}-${sha8(MEN_SLUG)}`, `${CUT}-${sha8(WOMEN_SLUG)}`]);
    expect(new Set(men.records.map((r) => r.dataset))).toEqual(new Set([men.summary.dataset]));
    expect(new Set(women.records.map((r) => r.dataset))).toEqual(new Set([women.summary.dataset]));
  });
});

describe('cut-off sections', () => {
  const seed = readSeed();

  it('the seed: only its last section, "Andre på tiltak, jobbskaping og egenetablering" (2019), cut after January', () => {
    // Its head, from the file: the last title's period line and the heading wrapped over three lines.
    const lines = seed.toString('utf8').split('\n');
    expect(lines.slice(1025, 1030)).toEqual(['Januar - Desember 2019', '', 'Andre på tiltak,', 'jobbskaping og', 'egenetablering']);
    expect(parseBytes(seed, { file: 'seed.txt' }).summary.cutOffSections).toEqual([
      { mainGroup: 'Andre', measureGroup: 'Jobbskaping og egenetablering', year: 2019 },
    ]);
  });

  it('the seed cut at 20,000 bytes (head -c 20000): the section the cut falls in', () => {
    const head = seed.subarray(0, 20_000);
    const text = head.toString('utf8');
    // The cut falls in a Nordland row under the last heading before it.
    expect(text.slice(text.lastIndexOf('\n') + 1).startsWith('Nordland\t')).toBe(true);
    const headings = text.split('\n').filter((l) => l.startsWith('Nedsatt arbeidsevne, på tiltak, '));
    expect(headings.at(-1)).toBe('Nedsatt arbeidsevne, på tiltak, tilrettelagt arbeid');
    expect(parseBytes(head, { file: 'head.txt' }).summary.cutOffSections).toEqual([
      { mainGroup: 'Nedsatt arbeidsevne', measureGroup: 'Tilrettelagt arbeid', year: 2019 },
    ]);
  });

  it('none in a complete export', () => {
    expect(parseBytes(ASCENDING_BYTES, { file: 'ascending.txt' }).summary.cutOffSections).toEqual([]);
  });
});
