// The same table in any format is the same dataset: through the real handler on a real embedded S3 server, a .txt,
// an .xlsx and a .csv of the 2019 export (one table, one vintage) replace each other in turn, the later upload
// winning, with identical values; a refused workbook is rejected with a report. And `navlake parse` on each.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { rejectedKey } from '../../lambdas/lake/layout.ts';
import { parseBytes } from '../../lambdas/parser/index.ts';
import { navlake } from '../helpers/cli.ts';
import {
  SEED_DATASET,
  deliverSqs,
  ingestionRecords,
  partitionHolders,
  putRaw,
  queryLake,
  readLakeJson,
  seedText,
  startIngestRig,
} from '../helpers/events.ts';
import { csvFromText, xlsxFromText } from './make-fixtures.ts';

const VALUES_SQL =
  'SELECT dataset, breakdown, main_group, measure_group, region, region_code, year, month, value, suppressed, source_vintage FROM observations ORDER BY ALL';

describe('one dataset whatever the format', () => {
  it('a .txt, then an .xlsx, then a .csv of the same table and vintage: each later upload wins, the values stay the same', async () => {
    // Prepare
    const rig = await startIngestRig();
    const txt = await putRaw(rig.s3.client, 'uploads/tiltak 2019.txt', seedText());
    await deliverSqs(rig, txt);
    const fromText = await queryLake(rig, VALUES_SQL);
    expect(fromText).toHaveLength(7430);
    expect(await partitionHolders(rig)).toEqual(new Set([txt.key]));
    const xlsx = await putRaw(rig.s3.client, 'uploads/tiltak 2019.xlsx', xlsxFromText(seedText()));
    const csv = await putRaw(
      rig.s3.client,
      'uploads/tiltak 2019.csv',
      csvFromText(seedText(), { delimiter: ';', encoding: 'windows-1252' }),
    );

    // Act
    const afterXlsx = await deliverSqs(rig, xlsx);
    const holdersAfterXlsx = await partitionHolders(rig);
    const valuesAfterXlsx = await queryLake(rig, VALUES_SQL);
    await deliverSqs(rig, csv);

    // Assess
    expect(afterXlsx.batchItemFailures).toEqual([]);
    expect(holdersAfterXlsx).toEqual(new Set([xlsx.key]));
    expect(valuesAfterXlsx).toEqual(fromText);
    expect(await partitionHolders(rig)).toEqual(new Set([csv.key]));
    expect(await queryLake(rig, VALUES_SQL)).toEqual(fromText);
    const ingestions = (await ingestionRecords(rig)).sort((a, b) => (a.event_time ?? '').localeCompare(b.event_time ?? ''));
    expect(ingestions.map((i) => [i.source_key, i.dataset, i.status, i.source_vintage, i.records, i.records_written])).toEqual([
      [txt.key, SEED_DATASET, 'accepted', '2019-12', 7430, 7430],
      [xlsx.key, SEED_DATASET, 'accepted', '2019-12', 7430, 7430],
      [csv.key, SEED_DATASET, 'accepted', '2019-12', 7430, 7430],
    ]);
  });

  it('an older upload processed late is superseded whatever its format', async () => {
    // Prepare: the .xlsx is uploaded first, the .txt after, but the .txt is processed first.
    const rig = await startIngestRig();
    const xlsx = await putRaw(rig.s3.client, 'uploads/first.xlsx', xlsxFromText(seedText()));
    const txt = await putRaw(rig.s3.client, 'uploads/second.txt', seedText());

    // Act
    await deliverSqs(rig, txt);
    await deliverSqs(rig, xlsx);

    // Assess
    expect(await partitionHolders(rig)).toEqual(new Set([txt.key]));
    const statuses = Object.fromEntries((await ingestionRecords(rig)).map((i) => [i.source_key, i.status]));
    expect(statuses).toEqual({ [txt.key]: 'accepted', [xlsx.key]: 'superseded' });
  });

  it('a refused workbook is rejected with a one-line report naming the upload', async () => {
    const rig = await startIngestRig();
    const ole = Buffer.concat([Buffer.from('d0cf11e0a1b11ae1', 'hex'), Buffer.alloc(504), Buffer.from('Workbook', 'utf16le')]);
    const ref = await putRaw(rig.s3.client, 'uploads/gammel.xls', ole);

    await deliverSqs(rig, ref);

    const report = await readLakeJson(rig.lakeDir, rejectedKey(ref.key));
    expect(report).toMatchObject({ code: 'OLD_XLS', file: ref.key, line: 0 });
    expect(String(report.message)).toContain('save it as .xlsx');
    expect(await partitionHolders(rig)).toEqual(new Set());
  });
});

describe('navlake parse', () => {
  it('prints the same records for the .txt, .xlsx and .csv, and a refusal as one line', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'navlake-parse-formats-'));
    try {
      await writeFile(join(dir, 'a.txt'), seedText());
      await writeFile(join(dir, 'a.xlsx'), xlsxFromText(seedText()));
      await writeFile(join(dir, 'a.csv'), csvFromText(seedText(), { delimiter: ';', encoding: 'windows-1252' }));
      await writeFile(join(dir, 'cut.xlsx'), xlsxFromText(seedText()).subarray(0, 5000));
      const [txt, xlsx, csv, bad] = await Promise.all(
        ['a.txt', 'a.xlsx', 'a.csv', 'cut.xlsx'].map((f) => navlake(['parse', join(dir, f), '-f', 'ndjson'])),
      );
      const withoutKey = (out: string) => out.replace(/"source_key":"a\.(txt|xlsx|csv)"/g, '"source_key":"a"');
      expect(txt?.code).toBe(0);
      expect(txt?.stdout.split('\n')).toHaveLength(7431);
      expect(withoutKey(xlsx?.stdout ?? '')).toBe(withoutKey(txt?.stdout ?? ''));
      expect(withoutKey(csv?.stdout ?? '')).toBe(withoutKey(txt?.stdout ?? ''));
      expect(xlsx?.stderr).toContain('navlake: a.xlsx:Tabell: 7430 records (1186 suppressed) from 32 sections, 1 warning');
      expect(bad?.code).toBe(2);
      expect(bad?.stderr).toMatch(/^navlake: cut\.xlsx:0: BAD_WORKBOOK: the zip archive has no directory at its end[^\n]*\n$/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('navlake ingest', () => {
  it('takes an .xlsx and a .csv as it takes the .txt: accepted, and the lake holds the same 7,430 values', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'navlake-ingest-formats-'));
    try {
      await writeFile(join(dir, 'tiltak.xlsx'), xlsxFromText(seedText()));
      await writeFile(join(dir, 'tiltak.csv'), csvFromText(seedText(), { delimiter: ';', encoding: 'windows-1252' }));
      const lake = join(dir, 'lake');

      const ingested = await navlake(['ingest', join(dir, 'tiltak.xlsx'), join(dir, 'tiltak.csv'), '--lake', lake]);
      const counted = await navlake([
        'query',
        'SELECT count(*) AS n, count(DISTINCT source_key) AS sources, sum(value) AS total FROM observations',
        '--lake',
        lake,
        '--format',
        'csv',
      ]);

      expect(ingested.code).toBe(0);
      expect(ingested.stdout).toMatch(/✓ .*tiltak\.xlsx: accepted, 7430 records/);
      expect(ingested.stdout).toMatch(/✓ .*tiltak\.csv: accepted, 7430 records/);
      // The .csv came second with the same vintage: it holds every value, and the values are the text export's.
      const textTotal = parseBytes(Buffer.from(seedText()), { file: 'seed.txt' }).records.reduce((n, r) => n + (r.value ?? 0), 0);
      expect(counted.stdout.split('\n')[1]).toBe(`7430,1,${textTotal}`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
