/**
 * `DIR/navlake.duckdb`: the lake's views in a database file that DuckDB-speaking tools (the duckdb shell, DBeaver,
 * Metabase, Tableau via JDBC) can open; a lake in use writes it after every upload.
 */
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { quote, viewStatements } from './local-views.ts';

export const CATALOG_FILE = 'navlake.duckdb';

/**
 * `DIR/navlake.duckdb`: the same views in a database file that DuckDB-speaking tools (the duckdb shell, DBeaver,
 * Metabase, Tableau via JDBC) can open. Built beside the target and renamed over it so a reader never sees half a file.
 */
export async function writeCatalogFile(lakeDir: string): Promise<string> {
  const writer = catalogWriter(lakeDir);
  try {
    return await writer.write();
  } finally {
    await writer.close();
  }
}

export interface CatalogWriter {
  /** Writes the catalog file (writeCatalogFile) anew; one write at a time. */
  write(): Promise<string>;
  close(): Promise<void>;
}

/**
 * Writes the catalog file as often as asked on one in-memory DuckDB: starting a database takes longer than writing
 * the views, and a lake in use writes its catalog after every upload.
 */
export function catalogWriter(lakeDir: string): CatalogWriter {
  let opened: Promise<{ instance: DuckDBInstance; connection: DuckDBConnection }> | undefined;
  const open = () => {
    if (!opened) {
      const attempt = (async () => {
        const instance = await DuckDBInstance.create(':memory:');
        return { instance, connection: await instance.connect() };
      })();
      // A failed start is retried by the next write, which then reports it.
      attempt.catch(() => {
        if (opened === attempt) opened = undefined;
      });
      opened = attempt;
    }
    return opened;
  };
  // Started at once: DuckDB starts on its own threads (15-20 ms), meanwhile the lake does the work before its first
  // catalog write.
  void open();
  return {
    write: async () => {
      const { connection } = await open();
      await mkdir(lakeDir, { recursive: true });
      const target = join(lakeDir, CATALOG_FILE);
      const temp = join(lakeDir, `.${CATALOG_FILE}.${process.pid}.${Date.now()}.tmp`);
      // Attached and detached, so the file is complete and closed before the rename.
      try {
        await connection.run(`ATTACH ${quote(temp)} AS catalog`);
        for (const statement of viewStatements(lakeDir, 'catalog')) await connection.run(statement);
        await connection.run('DETACH catalog');
        await rename(temp, target);
      } finally {
        // After a failure the next write attaches its own file under the same name.
        await connection.run('DETACH DATABASE IF EXISTS catalog');
        // Gone after a successful rename; left behind only by a failure.
        await rm(temp, { force: true });
        await rm(`${temp}.wal`, { force: true });
      }
      return target;
    },
    close: async () => {
      if (!opened) return;
      const { instance, connection } = await opened.catch(() => ({ instance: null, connection: null }));
      connection?.closeSync();
      instance?.closeSync();
      opened = undefined;
    },
  };
}
