// `navlake serve` killed with SIGKILL while it ingests, at three moments, then started again on the same lake: the
// uploads it had stored are processed at the restart, each exactly once, and the lake equals a clean ingest of the
// same files. Each test checks, from the files the kill left, that the kill did land mid-ingest.
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { generateExportWithSummary } from '../../bench/generate-export.ts';
import { startLocalLake, uploadAndWait } from '../../cli/local-lake.ts';
import { runLocalQuery } from '../../cli/local-query.ts';
import { localS3Client } from '../../cli/local-s3.ts';
import { lakeBucketDir } from '../../cli/local-views.ts';
import { LOCAL_RAW_BUCKET } from '../../lambdas/lake/layout.ts';
import { navlakeInBackground, type Background } from '../helpers/cli.ts';
import { SEED_FILE } from '../helpers/seeded-lake.ts';

/**
 * Ten years of a full export (2020-2029: 120 months, ~82,000 records): long enough to be killed in the middle, and
 * within the years the lake's views (like Athena's partition projection) read.
 */
const BIG = generateExportWithSummary({ seed: 7, years: Array.from({ length: 10 }, (_, i) => 2020 + i) });
const BIG_KEY = 'tiltak 2020-2029.txt';
const SEED_KEY = 'nav-tiltak-fylke-2019.txt';
const BIG_MONTHS = 120;

let work: string;
let seedBytes: Buffer;
let bigBytes: Buffer;
/** The clean ingest's lake, fingerprinted. */
let clean: Fingerprint;
const kills: string[] = [];

interface Fingerprint {
  /** Per source and month: rows, sum of values, suppressed cells, and a digest of every row's content. */
  partitions: unknown[];
  ingestions: unknown[];
  duplicates: unknown[];
}

async function fingerprint(lakeDir: string): Promise<Fingerprint> {
  const q = async (sql: string) => (await runLocalQuery(lakeDir, sql)).rows;
  return {
    partitions: await q(
      `SELECT source_key, period, count(*) AS n, sum(value) AS total, count(*) FILTER (WHERE suppressed) AS suppressed,
              md5(string_agg(concat_ws('|', breakdown, main_group, measure_group, region, region_code, value, source_vintage), ','
                             ORDER BY breakdown, main_group, measure_group, region)) AS digest
       FROM observations GROUP BY ALL ORDER BY ALL`,
    ),
    ingestions: await q(
      'SELECT source_key, status, source_vintage, records, records_written, error_code FROM ingestions ORDER BY source_key',
    ),
    duplicates: await q(
      `SELECT dataset, breakdown, main_group, measure_group, region, period, count(*) AS n FROM observations
       GROUP BY ALL HAVING count(*) > 1 LIMIT 5`,
    ),
  };
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'navlake-serve-crash-'));
  seedBytes = await readFile(SEED_FILE);
  bigBytes = Buffer.from(BIG.text, 'utf8');
  const bigFile = join(work, BIG_KEY);
  await writeFile(bigFile, bigBytes);
  // The reference: the same two files ingested by a server that is never interrupted.
  const lakeDir = join(work, 'clean');
  const lake = await startLocalLake({ lakeDir, port: 0 });
  try {
    await uploadAndWait(lake, bigFile, BIG_KEY);
    await uploadAndWait(lake, SEED_FILE, SEED_KEY);
  } finally {
    await lake.close();
  }
  clean = await fingerprint(lakeDir);
}, 120_000);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
  if (kills.length > 0) console.log(`serve-crash: SIGKILL ${kills.join('; ')}; every upload processed once after the restart`);
});

// ---- the server as a user runs it -------------------------------------------------------------------------------

interface Served {
  bg: Background;
  endpoint: string;
}

async function serve(lakeDir: string): Promise<Served> {
  const bg = navlakeInBackground(['serve', '--lake', lakeDir, '--port', '0']);
  onTestFinished(async () => void (await bg.stop('SIGKILL')));
  const [, endpoint = ''] = await bg.waitFor(/local S3 endpoint (http:\/\/\S+)/, 60_000);
  return { bg, endpoint };
}

async function upload(endpoint: string, key: string, body: Buffer): Promise<void> {
  const client = localS3Client(endpoint);
  try {
    await client.send(new PutObjectCommand({ Bucket: LOCAL_RAW_BUCKET, Key: key, Body: body }));
  } finally {
    client.destroy();
  }
}

const pendingDir = (lakeDir: string) => join(lakeDir, 'pending');
const processedDir = (lakeDir: string) => join(lakeDir, 'processed');

async function markers(dir: string): Promise<string[]> {
  return existsSync(dir) ? (await readdir(dir)).filter((f) => f.endsWith('.json')) : [];
}

/** The uploads (key and version id) that have a marker in `dir`. */
async function markedUploads(dir: string): Promise<{ key: string; versionId: string }[]> {
  const found: { key: string; versionId: string }[] = [];
  for (const f of await markers(dir)) {
    try {
      found.push(JSON.parse(await readFile(join(dir, f), 'utf8')) as { key: string; versionId: string });
    } catch {
      // Removed since it was listed.
    }
  }
  return found;
}

const pendingKeys = async (lakeDir: string) => (await markedUploads(pendingDir(lakeDir))).map((u) => u.key);
const processedKeys = async (lakeDir: string) => (await markedUploads(processedDir(lakeDir))).map((u) => u.key).sort();

/** True once the big upload is stored: its pending marker names a version whose bytes are kept. */
async function bigUploadStored(lakeDir: string): Promise<boolean> {
  const big = (await markedUploads(pendingDir(lakeDir))).find((u) => u.key === BIG_KEY);
  return big !== undefined && existsSync(join(lakeDir, 'versions', big.versionId));
}

/** Temporary files under the store's directories (a kill leaves some; the next start removes them). */
async function tempFiles(lakeDir: string): Promise<string[]> {
  const found: string[] = [];
  for (const dir of ['s3', 'pending', 'processed', 'versions']) {
    if (!existsSync(join(lakeDir, dir))) continue;
    for (const f of await readdir(join(lakeDir, dir), { recursive: true })) if (/\.(partial|tmp)$/.test(f)) found.push(join(dir, f));
  }
  return found;
}

/** Months of the big upload written so far (its years are 2020-2029, the seed's 2019). */
async function bigMonthsWritten(lakeDir: string): Promise<number> {
  const dir = join(lakeBucketDir(lakeDir), 'observations');
  if (!existsSync(dir)) return 0;
  const files = await readdir(dir, { recursive: true });
  return files.filter((f) => /year=202\d/.test(f) && f.endsWith('.ndjson.gz._S3rver_object')).length;
}

async function until(condition: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

// ---- the kills ---------------------------------------------------------------------------------------------------

interface Moment {
  name: string;
  /** Uploads both files and returns once it is time to kill. */
  uploadUntilKill: (served: Served, lakeDir: string) => Promise<void>;
  /** What the files must show at the kill, beyond the big upload being recorded and not processed. */
  atKill?: (state: { bigMonths: number }) => void;
}

const MOMENTS: Moment[] = [
  {
    name: 'right after both PUTs returned',
    uploadUntilKill: async ({ endpoint }) => {
      await upload(endpoint, SEED_KEY, seedBytes);
      await upload(endpoint, BIG_KEY, bigBytes);
    },
  },
  {
    name: 'as soon as the big upload was stored',
    uploadUntilKill: async ({ endpoint }, lakeDir) => {
      await upload(endpoint, SEED_KEY, seedBytes);
      // Stored before the PUT is answered; the answer is then lost with the server.
      const put = upload(endpoint, BIG_KEY, bigBytes).catch(() => undefined);
      await until(() => bigUploadStored(lakeDir), 30_000, 'the big upload to be stored');
      void put;
    },
    atKill: ({ bigMonths }) => expect(bigMonths).toBe(0),
  },
  {
    name: 'while the big upload was being written to the lake',
    uploadUntilKill: async ({ endpoint }, lakeDir) => {
      await upload(endpoint, BIG_KEY, bigBytes);
      await upload(endpoint, SEED_KEY, seedBytes);
      await until(async () => (await bigMonthsWritten(lakeDir)) > 0, 30_000, 'the first month of the big upload');
    },
    atKill: ({ bigMonths }) => {
      expect(bigMonths).toBeGreaterThan(0);
      expect(bigMonths).toBeLessThan(BIG_MONTHS);
    },
  },
];

describe('navlake serve killed with SIGKILL mid-ingest and started again', () => {
  for (const moment of MOMENTS) {
    it(`processes every acknowledged upload once: killed ${moment.name}`, async () => {
      // Prepare
      const lakeDir = join(work, `lake-${MOMENTS.indexOf(moment)}`);
      const first = await serve(lakeDir);
      await moment.uploadUntilKill(first, lakeDir);

      // Act: the process dies at once, with no chance to clean up; then the user starts it again
      first.bg.child.kill('SIGKILL');
      expect(await first.bg.stop()).toBe(null);
      const atKill = {
        pending: await pendingKeys(lakeDir),
        processed: await processedKeys(lakeDir),
        bigMonths: await bigMonthsWritten(lakeDir),
        temps: (await tempFiles(lakeDir)).length,
      };
      // The kill landed mid-ingest: the big upload was recorded as stored and had not been processed.
      expect(atKill.pending).toContain(BIG_KEY);
      expect(atKill.processed).not.toContain(BIG_KEY);
      moment.atKill?.(atKill);
      const second = await serve(lakeDir);
      await until(
        async () => (await processedKeys(lakeDir)).length >= 2 && (await markers(pendingDir(lakeDir))).length === 0,
        60_000,
        'both uploads to be processed after the restart',
      );
      expect(await second.bg.stop('SIGTERM')).toBe(0);

      // Assess: nothing lost, nothing twice, nothing left pending or half-written
      expect(await markers(pendingDir(lakeDir))).toEqual([]);
      expect(await processedKeys(lakeDir)).toEqual([BIG_KEY, SEED_KEY].sort());
      expect(await tempFiles(lakeDir)).toEqual([]);
      expect(second.bg.output()).not.toMatch(/failed/);
      const lake = await fingerprint(lakeDir);
      expect(lake.duplicates).toEqual([]);
      // Vintages as the clean ingest reads them (compared below), whatever rule the parser follows.
      expect(lake.ingestions).toEqual(
        [
          {
            source_key: SEED_KEY,
            status: 'accepted',
            source_vintage: expect.any(String),
            records: 7430,
            records_written: 7430,
            error_code: null,
          },
          {
            source_key: BIG_KEY,
            status: 'accepted',
            source_vintage: expect.any(String),
            records: BIG.summary.records,
            records_written: BIG.summary.records,
            error_code: null,
          },
        ].sort((a, b) => (a.source_key < b.source_key ? -1 : 1)),
      );
      expect(lake.partitions).toHaveLength(BIG_MONTHS + 12);
      expect(lake.partitions).toEqual(clean.partitions);
      expect(lake.ingestions).toEqual(clean.ingestions);
      kills.push(
        `${moment.name} (pending: ${atKill.pending.length}, processed: ${atKill.processed.length}, ` +
          `${atKill.bigMonths}/${BIG_MONTHS} months written, ${atKill.temps} temporary files)`,
      );
    }, 120_000);
  }
});
