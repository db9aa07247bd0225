// The CLI end to end, through its commands in child processes: what a user types and sees.
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateExport } from '../../bench/generate-export.ts';
import { localS3Client, startLocalS3 } from '../../cli/local-s3.ts';
import { LOCAL_RAW_BUCKET } from '../../lambdas/lake/layout.ts';
import { navlake, navlakeInBackground } from '../helpers/cli.ts';
import { SEED_FILE } from '../helpers/seeded-lake.ts';

let work: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'navlake-cli-'));
});
afterAll(() => rm(work, { recursive: true, force: true }));

async function countRows(lake: string): Promise<number> {
  const r = await navlake(['query', 'SELECT count(*) AS n FROM observations', '--lake', lake, '--format', 'json']);
  if (r.code !== 0) throw new Error(r.stderr);
  return (JSON.parse(r.stdout) as Array<{ n: number }>)[0]?.n ?? -1;
}

async function until<T>(probe: () => Promise<T>, done: (v: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (done(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('navlake parse', () => {
  it('prints one JSON record per line with the schema columns, and the warning on stderr', async () => {
    const r = await navlake(['parse', SEED_FILE]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(7430);
    expect(JSON.parse(lines[0] ?? '')).toMatchObject({
      region: 'I alt',
      measure_group: 'Opplæring',
      value: 14402,
      source_key: 'nav-tiltak-fylke-2019.txt',
      ingested_at: null,
    });
    expect(r.stderr).toMatch(/nav-tiltak-fylke-2019\.txt:1042: warning: CUT_OFF/);
    expect(r.stderr).toContain('7430 records (1186 suppressed) from 32 sections');
  });

  it('prints CSV with a header row', async () => {
    const r = await navlake(['parse', SEED_FILE, '--format', 'csv']);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(
      'dataset,table_title,breakdown,main_group,measure_group,region,region_code,year,month,period,value,suppressed,source_key,source_vintage,ingested_at,upload_rank,section_rank',
    );
    expect(lines).toHaveLength(7431);
  });

  it('prints a table', async () => {
    const r = await navlake(['parse', SEED_FILE, '--format', 'table']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('(7430 rows)');
  });

  it('reports bad input in one line with file and line, exit 2, no stack trace', async () => {
    const bad = join(work, 'bad-number.txt');
    await writeFile(
      bad,
      'Tittel\n\nFylke og tiltaksgruppe\n\nJanuar - Mars 2020\n\nOpplæring\n\n\tJanuar\tFebruar\tMars\nI alt opplæring\t1\t2x\t3\n',
    );
    const r = await navlake(['parse', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'navlake: bad-number.txt:10: BAD_NUMBER: expected a whole number or "*" in Februar for "I alt opplæring", found "2x" (column 19)\n',
    );
    expect(r.stdout).toBe('');
  });

  it('rejects an unknown format with exit 2', async () => {
    const r = await navlake(['parse', SEED_FILE, '--format', 'xml']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--format');
  });

  it("prints the file's vintage, its last section's March 2019, on every record, the 2018 section's too", async () => {
    const section = (year: number) =>
      `Tittel\n\nFylke og tiltaksgruppe\n\nJanuar - Mars ${year}\n\nOpplæring\n\n\tJanuar\tFebruar\tMars\nI alt opplæring\t4\t5\t6\nOslo\t4\t5\t6\n`;
    const file = join(work, 'two-years.txt');
    await writeFile(file, `${section(2018)}\n\n${section(2019)}`);
    const ndjson = await navlake(['parse', file]);
    expect(ndjson.code, ndjson.stderr).toBe(0);
    const records = ndjson.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { year: number; source_vintage: string });
    expect(records.map((r) => [r.year, r.source_vintage])).toEqual([
      ...Array.from({ length: 6 }, () => [2018, '2019-03']),
      ...Array.from({ length: 6 }, () => [2019, '2019-03']),
    ]);
    const csv = await navlake(['parse', file, '--format', 'csv']);
    expect(
      csv.stdout
        .trimEnd()
        .split('\n')
        .slice(1)
        .map((l) => l.split(',')[13]),
    ).toEqual(Array.from({ length: 12 }, () => '2019-03'));
    const table = await navlake(['parse', file, '--format', 'table', '--columns', 'year,period,source_vintage']);
    const rows = table.stdout.split('\n').slice(2, 14);
    expect(rows.filter((l) => /^(2018|2019)\s+\d{4}-\d\d\s+2019-03$/.test(l))).toHaveLength(12);
    expect(table.stdout).toContain('(12 rows)');
  });

  it('prints no records for a file that turns out bad late: the error alone, exit 2', async () => {
    // Ten years of exports (over 256 KB, more than one read), with a bad number in the last section's last row.
    const lines = generateExport({ seed: 4, years: Array.from({ length: 10 }, (_, i) => 2010 + i) }).split('\n');
    const at = lines.findLastIndex((l) => l.includes('\t') && !l.startsWith('\t'));
    lines[at] = (lines[at] ?? '').replace('\t', '\t1x');
    const bad = join(work, 'late.txt');
    await writeFile(bad, lines.join('\n'));
    expect(lines.join('\n').length).toBeGreaterThan(300_000);
    for (const format of ['ndjson', 'csv']) {
      const r = await navlake(['parse', bad, '--format', format]);
      expect([r.code, r.stdout]).toEqual([2, '']);
      expect(r.stderr).toMatch(new RegExp(`^navlake: late\\.txt:${at + 1}: BAD_NUMBER: `));
    }
  });
});

describe('navlake ingest and query', () => {
  it('ingests good files, reports the bad one, exits 1 after all others are in', async () => {
    const lake = join(work, 'lake-ingest');
    const bad = join(work, 'not-an-export.txt');
    await writeFile(bad, '<!DOCTYPE html><html><body>502 Bad Gateway</body></html>\n');
    const copy = join(work, 'nav 2019 kopi æøå.txt');
    await copyFile(SEED_FILE, copy);
    const r = await navlake(['ingest', SEED_FILE, bad, copy, '--lake', lake, '--concurrency', '2']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`✓ ${SEED_FILE}: accepted, 7430 records`);
    expect(r.stdout).toMatch(/✗ .*not-an-export\.txt: rejected: not-an-export-[0-9a-f]{8}\.txt:1: NO_TABLE/);
    expect(r.stdout).toMatch(/✓ .*nav 2019 kopi æøå\.txt: accepted/);
    expect(r.stderr).toContain('1 of 3 files not ingested');
    // The copy is the same vintage and replaced the months: still one set of rows.
    expect(await countRows(lake)).toBe(7430);
    const ingestions = await navlake([
      'query',
      'SELECT source_key, status FROM ingestions ORDER BY source_key',
      '--lake',
      lake,
      '--format',
      'csv',
    ]);
    expect(ingestions.stdout).toBe(
      'source_key,status\nnav 2019 kopi æøå-5111a596.txt,accepted\nnav-tiltak-fylke-2019-5111a596.txt,accepted\nnot-an-export-9bc267c1.txt,rejected\n',
    );
    // The database file BI tools open holds the same views.
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const db = await DuckDBInstance.create(join(lake, 'navlake.duckdb'), { access_mode: 'READ_ONLY' });
    const connection = await db.connect();
    const rows = (await connection.runAndReadAll('SELECT count(*)::INTEGER AS n FROM observations')).getRowObjectsJS();
    // Athena's from_iso8601_timestamp, which the example queries use, is defined there too.
    const times = (
      await connection.runAndReadAll(
        "SELECT count(*)::INTEGER AS n FROM ingestions WHERE from_iso8601_timestamp(ingested_at) > TIMESTAMPTZ '2020-01-01 00:00:00+00'",
      )
    ).getRowObjectsJS();
    connection.closeSync();
    db.closeSync();
    expect(rows).toEqual([{ n: 7430 }]);
    expect(times).toEqual([{ n: 3 }]);
  });

  it('prints query results as table, CSV and one JSON array, and DuckDB errors with exit 1', async () => {
    const lake = join(work, 'lake-ingest');
    const sql =
      "SELECT region, value FROM observations WHERE year = 2019 AND month = 1 AND main_group = 'I alt' AND measure_group = 'Opplæring' AND region IN ('I alt', 'Østfold') ORDER BY region";
    const json = await navlake(['query', sql, '--lake', lake, '--format', 'json']);
    expect(JSON.parse(json.stdout)).toEqual([
      { region: 'I alt', value: 14402 },
      { region: 'Østfold', value: 858 },
    ]);
    const csv = await navlake(['query', sql, '--lake', lake, '--format', 'csv']);
    expect(csv.stdout).toBe('region,value\nI alt,14402\nØstfold,858\n');
    const table = await navlake(['query', sql, '--lake', lake]);
    expect(table.stdout).toContain('Østfold    858');
    const broken = await navlake(['query', 'SELECT nope FROM observations', '--lake', lake]);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/^navlake: Binder Error: .*nope/);
  });

  it('answers on an empty lake (one that has had no upload yet) with no rows rather than an error', async () => {
    const lake = join(work, 'lake-empty');
    await mkdir(join(lake, 's3'), { recursive: true });
    expect(await countRows(lake)).toBe(0);
  });
});

describe('navlake serve', () => {
  it('ingests an upload made with an S3 client, and query works while it runs', async () => {
    const lake = join(work, 'lake-serve');
    const serve = navlakeInBackground(['serve', '--lake', lake, '--port', '0']);
    try {
      const [, endpoint] = await serve.waitFor(/local S3 endpoint (http:\/\/127\.0\.0\.1:\d+)/);
      expect(serve.output()).toContain('aws --endpoint-url');
      expect(serve.output()).toContain('bound to 127.0.0.1 only');
      const s3 = localS3Client(endpoint as string);
      await s3.send(
        new PutObjectCommand({
          Bucket: LOCAL_RAW_BUCKET,
          Key: 'uploads/2019 export.txt',
          Body: await import('node:fs/promises').then((f) => f.readFile(SEED_FILE)),
        }),
      );
      s3.destroy();
      expect(
        await until(
          () => countRows(lake),
          (n) => n === 7430,
        ),
      ).toBe(7430);
      // A second ingest process on the same lake would race the server's handler: it is refused.
      const other = await navlake(['ingest', SEED_FILE, '--lake', lake]);
      expect(other.code).toBe(2);
      expect(other.stderr).toContain('navlake serve');
    } finally {
      expect(await serve.stop('SIGTERM')).toBe(0);
    }
  });

  it('processes, at its next start, an upload stored while no handler ran', async () => {
    const lake = join(work, 'lake-restart');
    // Prepare: the raw object lands, but the process that received it stops before processing it.
    const bare = await startLocalS3({ lakeDir: lake, port: 0, silent: true });
    await bare.client.send(
      new PutObjectCommand({
        Bucket: LOCAL_RAW_BUCKET,
        Key: 'late.txt',
        Body: await import('node:fs/promises').then((f) => f.readFile(SEED_FILE)),
      }),
    );
    await bare.close();
    expect(await countRows(lake)).toBe(0);
    // Act: serve starts on the same lake.
    const serve = navlakeInBackground(['serve', '--lake', lake, '--port', '0']);
    try {
      await serve.waitFor(/local S3 endpoint/);
      // Assess
      expect(
        await until(
          () => countRows(lake),
          (n) => n === 7430,
        ),
      ).toBe(7430);
    } finally {
      await serve.stop('SIGTERM');
    }
  });

  it('warns when bound beyond loopback', async () => {
    const serve = navlakeInBackground(['serve', '--lake', join(work, 'lake-host'), '--port', '0', '--host', '0.0.0.0']);
    try {
      await serve.waitFor(/WARNING: bound to 0\.0\.0\.0/);
    } finally {
      await serve.stop('SIGTERM');
    }
  });
});
