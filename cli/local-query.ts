/**
 * SQL over the local lake with DuckDB. Each query opens an in-memory database and creates the views afresh, so it
 * never takes a lock that a running `navlake serve`, another query or a BI tool holds.
 */
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type DuckDBConnection, DuckDBInstance, type DuckDBResultReader } from '@duckdb/node-api';
import { jsonValue, type Row } from './format.ts';
import { quote, viewStatements } from './local-views.ts';

export interface QueryResult {
  columns: Array<{ name: string; type: string }>;
  rows: Row[];
}

export class QueryError extends Error {
  override readonly name = 'QueryError';
}

/** More than one SQL statement in one query: refused rather than silently running only some of them. */
export class MultipleStatementsError extends QueryError {}

async function withConnection<T>(work: (c: DuckDBConnection) => Promise<T>): Promise<T> {
  const instance = await DuckDBInstance.create(':memory:');
  try {
    const connection = await instance.connect();
    try {
      return await work(connection);
    } finally {
      connection.closeSync();
    }
  } finally {
    instance.closeSync();
  }
}

export function withLakeConnection<T>(lakeDir: string, work: (c: DuckDBConnection) => Promise<T>): Promise<T> {
  return withConnection(async (c) => {
    for (const statement of viewStatements(lakeDir)) await c.run(statement);
    return work(c);
  });
}

export async function runSql(connection: DuckDBConnection, sql: string): Promise<QueryResult> {
  // DuckDB's own parser counts the statements, so semicolons in literals or a trailing one are no concern. A text
  // it cannot parse is left to runAndReadAll below, which reports the syntax error.
  const count = await connection.extractStatements(sql).then(
    (e) => e.count,
    () => 1,
  );
  if (count > 1) {
    throw new MultipleStatementsError(`the SQL holds ${count} statements; query runs one statement at a time`);
  }
  let reader: DuckDBResultReader;
  try {
    reader = await connection.runAndReadAll(sql);
  } catch (e) {
    throw new QueryError(e instanceof Error ? e.message : String(e), { cause: e });
  }
  const names = reader.columnNames();
  const types = reader.columnTypes().map(String);
  const rows = reader.getRowObjectsJS().map((r) => jsonValue(r) as Row);
  return { columns: names.map((name, i) => ({ name, type: types[i] ?? '' })), rows };
}

export function runLocalQuery(lakeDir: string, sql: string): Promise<QueryResult> {
  return withLakeConnection(lakeDir, (c) => runSql(c, sql));
}

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
  const open = () =>
    (opened ??= (async () => {
      const instance = await DuckDBInstance.create(':memory:');
      return { instance, connection: await instance.connect() };
    })().catch((e: unknown) => {
      opened = undefined;
      throw e;
    }));
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
