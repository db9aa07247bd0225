// Load: twenty exports of one dataset at once through `navlake ingest --concurrency 8`, mixed with bad files.
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLocalQuery } from '../../cli/local-query.ts';
import { lakeBucketDir } from '../../cli/local-views.ts';
import { navlake } from '../helpers/cli.ts';
import { SEED_FILE } from '../helpers/seeded-lake.ts';

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'navlake-load-'));
});
afterAll(() => rm(work, { recursive: true, force: true }));

describe('twenty concurrent uploads of one dataset with bad files among them', () => {
  it('keeps one row per value, takes the good ones, rejects the bad ones with reports, exits 1', async () => {
    // Prepare: 20 good exports (the seed, and corrections of its first value) and 4 bad files.
    const seed = await readFile(SEED_FILE, 'utf8');
    const good: string[] = [];
    for (let i = 0; i < 20; i++) {
      const file = join(work, `export-${String(i).padStart(2, '0')}.txt`);
      // Same vintage, so each upload replaces the months of the one before it: the last upload wins.
      await writeFile(file, seed.replace('I alt opplæring\t14 402', `I alt opplæring\t${14402 + i}`));
      good.push(file);
    }
    const bad = {
      'empty.txt': '',
      'error-page.html': '<!DOCTYPE html>\n<html><head><title>503 Service Unavailable</title></head></html>\n',
      'bad-number.txt': seed.replace('Akershus\t1 682', 'Akershus\t1 6x2'),
      'binary.bin': '\u0000\u0001\u0002PNG',
    };
    const badFiles = await Promise.all(
      Object.entries(bad).map(async ([name, text]) => {
        const file = join(work, name);
        await writeFile(file, text);
        return file;
      }),
    );
    const files = [...good.slice(0, 10), ...badFiles, ...good.slice(10)];
    const lake = join(work, 'lake');

    // Act
    const result = await navlake(['ingest', ...files, '--lake', lake, '--concurrency', '8']);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('4 of 24 files not ingested');
    const count = await runLocalQuery(
      lake,
      'SELECT count(*) AS n, count(DISTINCT (main_group, measure_group, region, period)) AS distinct_values FROM observations',
    );
    expect(count.rows).toEqual([{ n: 7430, distinct_values: 7430 }]);
    const statuses = await runLocalQuery(lake, 'SELECT status, count(*) AS n FROM ingestions GROUP BY status ORDER BY status');
    const byStatus = Object.fromEntries(statuses.rows.map((r) => [r.status, r.n]));
    expect(byStatus.rejected).toBe(4);
    expect((byStatus.accepted ?? 0) + (byStatus.superseded ?? 0)).toBe(20);
    // Every month holds one upload's rows in full: the January value and the rest of the month agree on the source.
    const sources = await runLocalQuery(lake, 'SELECT period, count(DISTINCT source_key) AS sources FROM observations GROUP BY period');
    expect(sources.rows.every((r) => r.sources === 1)).toBe(true);
    const january = await runLocalQuery(
      lake,
      "SELECT value, source_key FROM observations WHERE year = 2019 AND month = 1 AND main_group = 'I alt' AND measure_group = 'Opplæring' AND region = 'I alt'",
    );
    const winner = january.rows[0];
    expect(Number(winner?.value) - 14402).toBe(Number(/export-(\d+)/.exec(String(winner?.source_key))?.[1]));
    const reports = await readdir(join(lakeBucketDir(lake), 'rejected'));
    // `ingest` keys are the file name plus 8 hex of its content's hash.
    const reported = reports
      .filter((f) => f.endsWith('.json._S3rver_object'))
      .map((f) => f.replace(/-[0-9a-f]{8}(?=\.[a-z]+\.json\._S3rver_object$)/, ''));
    expect(reported.sort()).toEqual(
      Object.keys(bad)
        .map((n) => `${n}.json._S3rver_object`)
        .sort(),
    );
  });
});
