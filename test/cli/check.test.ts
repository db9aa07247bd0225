// `navlake check` on a real lake made by `navlake ingest`, then damaged the ways a crash, a full disk or a careless
// hand would damage it. Each damage must be reported with exit 1; the undamaged lake passes with exit 0.
import { mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { navlake } from '../helpers/cli.ts';

const SEED = new URL('../../fixtures/nav-tiltak-fylke-2019.txt', import.meta.url).pathname;
let lake: string;
const JANUARY = () => join(lake, 's3/navlake-lake/observations/year=2019/month=01');

async function januaryObject(): Promise<string> {
  const [name] = (await readdir(JANUARY())).filter((n) => n.endsWith('._S3rver_object'));
  return join(JANUARY(), name!);
}

/** Runs `work` on the lake, checks, then puts the file back. */
async function damaged(file: string, work: (bytes: Buffer) => Buffer | string) {
  const original = await readFile(file);
  await writeFile(file, work(original));
  try {
    return await navlake(['check', '--lake', lake]);
  } finally {
    await writeFile(file, original);
  }
}

describe('navlake check', () => {
  beforeAll(async () => {
    lake = await mkdtemp(join(tmpdir(), 'navlake-check-'));
    const ingest = await navlake(['ingest', SEED, '--lake', lake]);
    expect(ingest.code).toBe(0);
  });
  afterAll(() => rm(lake, { recursive: true, force: true }));

  it('passes a sound lake: exit 0 and the counts', async () => {
    const result = await navlake(['check', '--lake', lake]);

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/is sound: 13 objects, 7430 rows, 1 ingestion records/);
  });

  it('reports a partition object cut short (not gzip any more)', async () => {
    const result = await damaged(await januaryObject(), (b) => b.subarray(0, b.length / 2));

    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/observations\/year=2019\/month=01\/.*: not readable gzip/);
  });

  it('reports a row listed twice', async () => {
    const result = await damaged(await januaryObject(), (b) => {
      const lines = gunzipSync(b).toString('utf8');
      return gzipSync(`${lines}${lines.split('\n')[0]}\n`);
    });

    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/a second row for I alt \/ Opplæring \/ I alt/);
  });

  it('reports rows no ingestion record accounts for', async () => {
    const result = await damaged(await januaryObject(), (b) =>
      gzipSync(
        gunzipSync(b)
          .toString('utf8')
          .replace(/"upload_rank":"2019-12\//g, '"upload_rank":"2019-11/'),
      ),
    );

    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/rows of nav-tiltak-fylke-2019-[0-9a-f]{8}\.txt that no ingestion record accounts for/);
  });

  it('reports empty object metadata and a half-written leftover', async () => {
    const metadata = (await januaryObject()).replace(/\._S3rver_object$/, '._S3rver_metadata.json');
    const leftover = `${await januaryObject()}.12345-abcd.partial`;
    await writeFile(leftover, 'half');
    try {
      const result = await damaged(metadata, () => '');

      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(/_S3rver_metadata\.json: object metadata is not readable JSON/);
      expect(result.stdout).toMatch(/\.partial: left over from an interrupted write/);
      expect(result.stderr).toMatch(/navlake: .*: 2 problems/);
    } finally {
      await rm(leftover);
    }
  });

  it('refuses a directory that is not a lake', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'navlake-notalake-'));
    try {
      const result = await navlake(['check', '--lake', empty]);

      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(/is not a navlake lake/);
    } finally {
      await rm(empty, { recursive: true });
    }
  });

  it('reports a region table missing, as in a lake the previous release made, and what brings it back', async () => {
    const object = join(lake, 's3/navlake-lake/reference/regions/regions.ndjson._S3rver_object');
    await rename(object, `${object}.away`);
    try {
      const result = await navlake(['check', '--lake', lake]);

      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(/reference\/regions\/regions\.ndjson: missing, .*written at the next start of serve or ingest/);
    } finally {
      await rename(`${object}.away`, object);
    }
  });
});
