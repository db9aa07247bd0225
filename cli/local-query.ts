/**
 * SQL over the local lake with DuckDB. Each query opens an in-memory database and creates the views afresh, so it
 * never takes a lock that a running `navlake serve`, another query or a BI tool holds.
 */
import { type DuckDBConnection, DuckDBInstance, type DuckDBResultReader } from '@duckdb/node-api';
import { jsonValue, type Row } from './format.ts';
import { viewStatements } from './local-views.ts';

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
