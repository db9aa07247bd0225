// `navlake ingest` as a user runs it on files from several folders: every file is its own upload.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { navlake } from '../helpers/cli.ts';
import { exportText, seedText } from '../helpers/events.ts';

let dir: string;
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('navlake ingest keys', () => {
  it('two files named export.txt from different folders are two uploads: neither replaces the other', async () => {
    // Prepare: the 2019 export in a/, a 2020 first-quarter export of the same table in b/, both named export.txt.
    dir = await mkdtemp(join(tmpdir(), 'navlake-keys-'));
    await mkdir(join(dir, 'a'));
    await mkdir(join(dir, 'b'));
    await writeFile(join(dir, 'a/export.txt'), seedText());
    await writeFile(join(dir, 'b/export.txt'), exportText({ year: 2020, firstMonth: 1, lastMonth: 3 }));
    const lake = join(dir, 'lake');

    // Act
    const ingest = await navlake(['ingest', join(dir, 'a/export.txt'), join(dir, 'b/export.txt'), '--lake', lake]);
    const query = await navlake([
      'query',
      'SELECT year, count(*) AS n, count(DISTINCT source_key) AS keys FROM observations GROUP BY year ORDER BY year',
      '--lake',
      lake,
      '--format',
      'json',
    ]);

    // Assess: 7,430 values of 2019 and 4 rows x 3 months of 2020, from two different keys.
    expect(ingest.code).toBe(0);
    expect(JSON.parse(query.stdout)).toEqual([
      { year: 2019, n: 7430, keys: 1 },
      { year: 2020, n: 12, keys: 1 },
    ]);
    const keys = await navlake(['query', 'SELECT DISTINCT source_key FROM observations ORDER BY 1', '--lake', lake, '--format', 'csv']);
    expect(keys.stdout.trim().split('\n').slice(1)).toEqual([
      expect.stringMatching(/^export-[0-9a-f]{8}\.txt$/),
      expect.stringMatching(/^export-[0-9a-f]{8}\.txt$/),
    ]);
    expect(new Set(keys.stdout.trim().split('\n').slice(1)).size).toBe(2);
  });

  it('of two exports of the same dataset and vintage the later argument wins, at any --concurrency', async () => {
    // Prepare: two complete one-section exports of March 2019 that differ in Oslo's value.
    dir = await mkdtemp(join(tmpdir(), 'navlake-order-'));
    const march = (oslo: number) =>
      exportText({
        year: 2019,
        firstMonth: 3,
        lastMonth: 3,
        rows: [
          ['Østfold', [100]],
          ['Oslo', [oslo]],
        ],
      });
    await writeFile(join(dir, 'first.txt'), march(1111));
    await writeFile(join(dir, 'second.txt'), march(2222));
    const osloAfter = async (files: string[], concurrency: string, lake: string) => {
      const ingest = await navlake(['ingest', ...files.map((f) => join(dir, f)), '--lake', join(dir, lake), '--concurrency', concurrency]);
      expect(ingest.code).toBe(0);
      const q = await navlake([
        'query',
        "SELECT value FROM observations WHERE region = 'Oslo'",
        '--lake',
        join(dir, lake),
        '--format',
        'csv',
      ]);
      return q.stdout.trim().split('\n').slice(1);
    };

    // Act and Assess
    expect(await osloAfter(['first.txt', 'second.txt'], '2', 'a')).toEqual(['2222']);
    expect(await osloAfter(['second.txt', 'first.txt'], '2', 'b')).toEqual(['1111']);
    expect(await osloAfter(['first.txt', 'second.txt'], '1', 'c')).toEqual(['2222']);
  });

  it('a directory given as a file is refused with one line naming it', async () => {
    dir = await mkdtemp(join(tmpdir(), 'navlake-keys-'));

    const result = await navlake(['ingest', dir, '--lake', join(dir, 'lake')]);

    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toEqual([`navlake: ${dir}: not a file; give the export files themselves (e.g. ${dir}/*.txt)`]);
  });
});
