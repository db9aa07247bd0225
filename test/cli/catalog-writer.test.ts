// The catalog file (navlake.duckdb) written again and again on one in-memory DuckDB, as a lake in use does after
// every upload: each write shows the lake as it is then, and a failed write leaves the next one unharmed.
import { mkdir, mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CATALOG_FILE, catalogWriter } from '../../cli/local-catalog.ts';
import { startLocalLake } from '../../cli/local-lake.ts';
import { lakeBucketDir } from '../../cli/local-views.ts';
import { seededLake } from '../helpers/seeded-lake.ts';

let lake: Awaited<ReturnType<typeof seededLake>>;

beforeAll(async () => {
  lake = await seededLake();
}, 60_000);
afterAll(() => lake.cleanup());

async function countIn(file: string, table: string): Promise<number> {
  const db = await DuckDBInstance.create(file, { access_mode: 'READ_ONLY' });
  try {
    const connection = await db.connect();
    const [row] = (await connection.runAndReadAll(`SELECT count(*)::INTEGER AS n FROM ${table}`)).getRowObjectsJS();
    connection.closeSync();
    return row?.n as number;
  } finally {
    db.closeSync();
  }
}

describe('the catalog writer', () => {
  it('writes what the lake holds at each write, and survives a write that failed', async () => {
    // Prepare
    const writer = catalogWriter(lake.lakeDir);
    const target = join(lake.lakeDir, CATALOG_FILE);
    const ingestions = join(lakeBucketDir(lake.lakeDir), 'ingestions');
    const hidden = join(lake.lakeDir, 'hidden-ingestions');

    try {
      // Act
      await writer.write();
      const before = await countIn(target, 'ingestions');
      await rm(hidden, { recursive: true, force: true });
      await rename(ingestions, hidden);
      await writer.write();
      const without = await countIn(target, 'ingestions');
      await rename(hidden, ingestions);
      // A directory where the file goes: the rename fails after the views were written into the temporary file.
      await rm(target);
      await mkdir(target);
      const failed = writer.write();
      await expect(failed).rejects.toThrow();
      await rm(target, { recursive: true });
      await writer.write();
      const after = await countIn(target, 'ingestions');

      // Assess
      expect([before, without, after]).toEqual([1, 0, 1]);
      expect(await countIn(target, 'observations')).toBe(7430);
      expect((await readdir(lake.lakeDir)).filter((f) => f.endsWith('.tmp') || f.endsWith('.wal'))).toEqual([]);
    } finally {
      await writer.close();
    }
  });

  it('starts its DuckDB when made, and closes without writing when never asked to', async () => {
    // Prepare
    const lakeDir = await mkdtemp(join(tmpdir(), 'navlake-catalog-'));

    try {
      // Act
      const writer = catalogWriter(lakeDir);
      await writer.close();
      const closedTwice = writer.close();

      // Assess
      await expect(closedTwice).resolves.toBeUndefined();
      expect(await readdir(lakeDir)).toEqual([]);
    } finally {
      await rm(lakeDir, { recursive: true, force: true });
    }
  });

  it('is written at the close of a lake started for uploads when none came', async () => {
    // Prepare
    const lakeDir = await mkdtemp(join(tmpdir(), 'navlake-catalog-'));
    const target = join(lakeDir, CATALOG_FILE);

    try {
      // Act
      const lake = await startLocalLake({ lakeDir, port: 0, catalogFrom: 'first-upload' });
      await lake.close();

      // Assess
      expect(await countIn(target, 'regions')).toBeGreaterThan(0);
      expect(await countIn(target, 'observations')).toBe(0);
    } finally {
      await rm(lakeDir, { recursive: true, force: true });
    }
  });
});
