/**
 * The local DuckDB views against the Glue tables, on a real local lake (the embedded S3 server's storage): they read
 * the same objects Athena would (athenaReads), with the same column types and the same NULLs.
 */
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLocalQuery } from '../../cli/local-query.ts';
import { athenaReads, lakeBucketDir, OBJECT_SUFFIX } from '../../cli/local-views.ts';
import { LOCAL_LAKE_BUCKET } from '../../lambdas/lake/layout.ts';
import { INGESTIONS_TABLE, OBSERVATIONS_TABLE, type TableDef } from '../../lambdas/schema/columns.ts';
import { flatten } from '../cdk/policy.ts';
import { synthesize } from '../cdk/synth.ts';
import { startTestS3, type TestS3 } from '../helpers/local-s3.ts';

// ---- Glue (Hive) types as DuckDB spells them -------------------------------------------------------------------

const HIVE_PRIMITIVES: Readonly<Record<string, string>> = {
  string: 'VARCHAR',
  int: 'INTEGER',
  bigint: 'BIGINT',
  smallint: 'SMALLINT',
  tinyint: 'TINYINT',
  boolean: 'BOOLEAN',
  double: 'DOUBLE',
  float: 'FLOAT',
  date: 'DATE',
};

/** A Hive type string (`array<struct<a:int>>`) as the DuckDB type DESCRIBE prints (`STRUCT(a INTEGER)[]`). */
function duckdbTypeOfHive(hive: string): string {
  let at = 0;
  const take = (s: string): void => {
    if (!hive.startsWith(s, at)) throw new Error(`Expected ${s} at ${at} in ${hive}`);
    at += s.length;
  };
  const name = (): string => {
    const m = /^[a-z_][a-z0-9_]*/.exec(hive.slice(at));
    if (!m) throw new Error(`Expected a name at ${at} in ${hive}`);
    at += m[0].length;
    return m[0];
  };
  const type = (): string => {
    const base = name();
    if (base === 'array') {
      take('<');
      const element = type();
      take('>');
      return `${element}[]`;
    }
    if (base === 'struct') {
      take('<');
      const fields: string[] = [];
      do {
        if (fields.length > 0) take(',');
        const field = name();
        take(':');
        fields.push(`${field} ${type()}`);
      } while (hive[at] === ',');
      take('>');
      return `STRUCT(${fields.join(', ')})`;
    }
    const primitive = HIVE_PRIMITIVES[base];
    if (primitive === undefined) throw new Error(`No DuckDB type for Hive ${base}`);
    return primitive;
  };
  const result = type();
  if (at !== hive.length) throw new Error(`Trailing text in ${hive}`);
  return result;
}

const { template } = synthesize({ bundle: false });

/** Column name -> DuckDB type, from the synthesized Glue table (data columns and partition keys). */
function glueColumns(table: TableDef): Record<string, string> {
  const input = Object.values(template.findResources('AWS::Glue::Table'))
    .map((t) => t.Properties?.TableInput as Record<string, unknown>)
    .find((t) => t.Name === table.name);
  if (input === undefined) throw new Error(`No Glue table ${table.name}`);
  const columns = [
    ...((input.StorageDescriptor as { Columns: unknown[] }).Columns as Array<{ Name: string; Type: unknown }>),
    ...(input.PartitionKeys as Array<{ Name: string; Type: unknown }>),
  ];
  return Object.fromEntries(columns.map((c) => [c.Name, duckdbTypeOfHive(flatten(c.Type))]));
}

async function viewColumns(lakeDir: string, table: TableDef): Promise<Record<string, string>> {
  const { rows } = await runLocalQuery(lakeDir, `DESCRIBE ${table.name}`);
  return Object.fromEntries(rows.map((r) => [String(r.column_name), String(r.column_type)]));
}

// ---- a lake with objects Athena reads and objects it skips ------------------------------------------------------

const DATASET = 'deltakere-i-arbeidsrettede-tiltak';

function ingestionRow(key: string): string {
  return `${JSON.stringify({
    ingestion_id: key,
    source_key: key,
    status: 'accepted',
    records: 1,
    records_written: 1,
    partitions: [],
    warnings: [],
    ingested_at: '2024-02-01T10:00:00.000Z',
  })}\n`;
}

function observationRow(key: string): Buffer {
  return gzipSync(`${JSON.stringify({ dataset: DATASET, region: 'I alt', period: '2019-01', value: 1, source_key: key })}\n`);
}

/** Keys put through the local S3 API; the view must read exactly those athenaReads accepts. */
const INGESTION_KEYS = [
  `ingestions/${DATASET}/2024-02-01-a.json`,
  // A key may itself end like a temporary file: it is still an object, and Athena reads it.
  `ingestions/${DATASET}/2024-02-01-b.partial`,
  'ingestions/_unknown/2024-02-01-c.json',
  `ingestions/${DATASET}/.hidden.json`,
  `ingestions/.staging/${DATASET}/d.json`,
];
const OBSERVATION_KEYS = [
  `observations/year=2019/month=01/${DATASET}.ndjson.gz`,
  `observations/year=2019/month=02/sub/${DATASET}.ndjson.gz`,
  `observations/year=2019/month=03/_unknown/${DATASET}.ndjson.gz`,
  `observations/year=2019/month=04/.${DATASET}.ndjson.gz`,
  `observations/year=2019/month=5/${DATASET}.ndjson.gz`,
  `observations/year=1999/month=01/${DATASET}.ndjson.gz`,
  `observations/year=2019/${DATASET}.ndjson.gz`,
];

let s3: TestS3;
let emptyLake: string;

beforeAll(async () => {
  s3 = await startTestS3({ cleanup: 'manual' });
  emptyLake = await mkdtemp(join(tmpdir(), 'navlake-empty-'));
  const put = (key: string, body: string | Buffer) =>
    s3.client.send(new PutObjectCommand({ Bucket: LOCAL_LAKE_BUCKET, Key: key, Body: body }));
  for (const key of INGESTION_KEYS) await put(key, ingestionRow(key));
  for (const key of OBSERVATION_KEYS) await put(key, observationRow(key));
  // What the local store leaves beside an object while writing it (or after a crash): never an object, and not even
  // valid JSON, so a view that matched one would fail or count it.
  const bucketDir = lakeBucketDir(s3.lakeDir);
  for (const key of [...INGESTION_KEYS.slice(0, 1), ...OBSERVATION_KEYS.slice(0, 1)]) {
    await writeFile(join(bucketDir, `${key}${OBJECT_SUFFIX}.4242-0badf00d.partial`), 'half an object');
    await writeFile(join(bucketDir, `${key}${OBJECT_SUFFIX}.4242-0badf00d.tmp`), '{"torn":');
  }
});

afterAll(async () => {
  await s3?.cleanup();
  if (emptyLake) await rm(emptyLake, { recursive: true, force: true });
});

describe('local views read what Athena reads', () => {
  it('the lake holds the hidden objects and temporary files the views must skip', async () => {
    const dir = join(lakeBucketDir(s3.lakeDir), `ingestions/${DATASET}`);
    const names = await readdir(dir);
    expect(names).toContain(`.hidden.json${OBJECT_SUFFIX}`);
    expect(names.filter((n) => n.endsWith('.partial') || n.endsWith('.tmp'))).toHaveLength(2);
    expect(await readdir(join(lakeBucketDir(s3.lakeDir), 'ingestions/_unknown'))).toContain(`2024-02-01-c.json${OBJECT_SUFFIX}`);
  });

  it('ingestions: every object Athena reads, none under `_unknown/`, `.staging/` or named `.hidden.json`', async () => {
    const { rows } = await runLocalQuery(s3.lakeDir, 'SELECT source_key FROM ingestions ORDER BY source_key');
    const expected = INGESTION_KEYS.filter((k) => athenaReads(INGESTIONS_TABLE, k)).sort();
    expect(expected).toEqual([`ingestions/${DATASET}/2024-02-01-a.json`, `ingestions/${DATASET}/2024-02-01-b.partial`]);
    expect(rows.map((r) => r.source_key)).toEqual(expected);
  });

  it('observations: only the projected partitions, without hidden folders and files', async () => {
    const { rows } = await runLocalQuery(s3.lakeDir, 'SELECT year, month, source_key FROM observations ORDER BY source_key');
    const expected = OBSERVATION_KEYS.filter((k) => athenaReads(OBSERVATIONS_TABLE, k)).sort();
    expect(expected).toEqual([
      `observations/year=2019/month=01/${DATASET}.ndjson.gz`,
      `observations/year=2019/month=02/sub/${DATASET}.ndjson.gz`,
    ]);
    expect(rows).toEqual(expected.map((k) => ({ year: 2019, month: Number(/month=(\d+)/.exec(k)?.[1]), source_key: k })));
  });
});

describe('local views have the Glue tables columns', () => {
  it.each([OBSERVATIONS_TABLE, INGESTIONS_TABLE])('$name: same names and types, with data and on an empty lake', async (table) => {
    const glue = glueColumns(table);
    expect(await viewColumns(s3.lakeDir, table)).toEqual(glue);
    expect(await viewColumns(emptyLake, table)).toEqual(glue);
  });

  it('a missing field, an explicit null and a missing struct field read as NULL, as the Hive JSON SerDe reads them', async () => {
    const key = `ingestions/${DATASET}/2024-03-01-sparse.json`;
    const sparse = { ingestion_id: 'sparse', source_key: key, status: 'rejected', partitions: [{ period: '2019-01' }], warnings: null };
    await s3.client.send(new PutObjectCommand({ Bucket: LOCAL_LAKE_BUCKET, Key: key, Body: `${JSON.stringify(sparse)}\n` }));
    const { rows } = await runLocalQuery(
      s3.lakeDir,
      `SELECT error_code, records, warnings, partitions[1].records AS first_records, partitions[1].period AS first_period
       FROM ingestions WHERE source_key = '${key}'`,
    );
    expect(rows).toEqual([{ error_code: null, records: null, warnings: null, first_records: null, first_period: '2019-01' }]);
  });
});
