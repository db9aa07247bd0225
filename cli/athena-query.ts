import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import type { ColumnInfo, Datum, QueryExecution } from '@aws-sdk/client-athena';

/** Same shape as the local DuckDB query result, so callers do not care which engine answered. */
export interface QueryResult {
  columns: { name: string; type: string }[];
  rows: Record<string, unknown>[];
}

export interface AthenaQueryOptions {
  /** Athena workgroup; it enforces the result location and encryption, so none is sent here. */
  workgroup: string;
  /** Glue database the unqualified table names resolve against. */
  database: string;
  /** Injected for tests or to share one client; otherwise a client is made and destroyed per call. */
  client?: AthenaClient;
  /** First wait between GetQueryExecution polls; doubles after each poll. */
  pollInitialMs?: number;
  /** Upper bound of the wait between polls. */
  pollMaxMs?: number;
  /** How long to wait for the query to finish before stopping it. Result paging is not counted. */
  timeoutMs?: number;
  /** Aborting stops the Athena query (best effort) and rejects with the signal's reason. */
  signal?: AbortSignal;
}

export type AthenaFailureState = 'FAILED' | 'CANCELLED' | 'TIMEOUT';

export class AthenaQueryError extends Error {
  override readonly name = 'AthenaQueryError';
  constructor(
    readonly state: AthenaFailureState,
    readonly reason: string,
    readonly queryExecutionId?: string,
    options?: { cause?: unknown },
  ) {
    super(`Athena query ${queryExecutionId ?? '(no id)'} ${state}: ${reason}`, options);
  }
}

const DEFAULTS = {
  workgroup: 'navlake',
  database: 'navlake',
  pollInitialMs: 100,
  pollMaxMs: 2000,
  timeoutMs: 5 * 60_000,
} as const;

// GetQueryResults rejects anything larger.
const PAGE_SIZE = 1000;

export async function runAthenaQuery(sql: string, options: Partial<AthenaQueryOptions> = {}): Promise<QueryResult> {
  const { signal } = options;
  signal?.throwIfAborted();
  const ownsClient = options.client === undefined;
  // Throttling (TooManyRequestsException) is retried by the SDK's standard retry strategy.
  const client = options.client ?? new AthenaClient({ maxAttempts: 5 });
  try {
    const started = await client.send(
      new StartQueryExecutionCommand({
        QueryString: sql,
        WorkGroup: options.workgroup ?? DEFAULTS.workgroup,
        QueryExecutionContext: { Database: options.database ?? DEFAULTS.database, Catalog: 'AwsDataCatalog' },
      }),
      { abortSignal: signal },
    );
    const id = started.QueryExecutionId;
    if (id === undefined) throw new Error('Athena StartQueryExecution returned no QueryExecutionId');

    let execution: QueryExecution;
    try {
      execution = await waitForCompletion(client, id, options);
    } catch (error) {
      // The query keeps running (and billing) in Athena unless we stop it.
      if (signal?.aborted) await stopQuietly(client, id);
      throw error;
    }
    return await fetchResults(client, id, execution.StatementType === 'DML', signal);
  } finally {
    if (ownsClient) client.destroy();
  }
}

async function waitForCompletion(client: AthenaClient, id: string, options: Partial<AthenaQueryOptions>): Promise<QueryExecution> {
  const { signal } = options;
  const timeoutMs = options.timeoutMs ?? DEFAULTS.timeoutMs;
  const pollMaxMs = options.pollMaxMs ?? DEFAULTS.pollMaxMs;
  const deadline = Date.now() + timeoutMs;
  let delay = Math.min(options.pollInitialMs ?? DEFAULTS.pollInitialMs, pollMaxMs);

  for (;;) {
    await sleep(Math.min(delay, Math.max(0, deadline - Date.now())), signal);
    const { QueryExecution: execution } = await client.send(new GetQueryExecutionCommand({ QueryExecutionId: id }), {
      abortSignal: signal,
    });
    const status = execution?.Status;
    switch (status?.State) {
      case 'SUCCEEDED':
        return execution ?? {};
      case 'FAILED':
        throw new AthenaQueryError('FAILED', failureReason(status.StateChangeReason, status.AthenaError?.ErrorMessage), id);
      case 'CANCELLED':
        throw new AthenaQueryError('CANCELLED', status.StateChangeReason ?? 'query was cancelled', id);
      default:
        // QUEUED, RUNNING, or a state newer than this SDK: keep waiting.
        break;
    }
    if (Date.now() >= deadline) {
      const stopError = await stopQuietly(client, id);
      throw new AthenaQueryError(
        'TIMEOUT',
        `query did not finish within ${timeoutMs} ms (last state ${status?.State ?? 'unknown'}); stop requested`,
        id,
        stopError === undefined ? undefined : { cause: stopError },
      );
    }
    delay = Math.min(delay * 2, pollMaxMs);
  }
}

function failureReason(stateChangeReason: string | undefined, errorMessage: string | undefined): string {
  if (stateChangeReason === undefined) return errorMessage ?? 'query failed without a reason';
  if (errorMessage === undefined || stateChangeReason.includes(errorMessage)) return stateChangeReason;
  return `${stateChangeReason} (${errorMessage})`;
}

/** Returns the error instead of throwing, so it cannot mask the error that made us stop. */
async function stopQuietly(client: AthenaClient, id: string): Promise<unknown> {
  try {
    // No abort signal: when called because of an abort, that signal is already aborted.
    await client.send(new StopQueryExecutionCommand({ QueryExecutionId: id }));
    return undefined;
  } catch (error) {
    return error;
  }
}

async function fetchResults(
  client: AthenaClient,
  id: string,
  hasHeaderRow: boolean,
  signal: AbortSignal | undefined,
): Promise<QueryResult> {
  let columns: QueryResult['columns'] | undefined;
  const rows: Record<string, unknown>[] = [];
  let nextToken: string | undefined;
  let firstPage = true;
  do {
    const page = await client.send(new GetQueryResultsCommand({ QueryExecutionId: id, MaxResults: PAGE_SIZE, NextToken: nextToken }), {
      abortSignal: signal,
    });
    columns ??= toColumns(page.ResultSet?.ResultSetMetadata?.ColumnInfo ?? []);
    const pageRows = page.ResultSet?.Rows ?? [];
    // Only SELECT-like (DML) results repeat the column names as the first row, and only on page one.
    const start = firstPage && hasHeaderRow ? 1 : 0;
    for (let i = start; i < pageRows.length; i++) rows.push(toRow(columns, pageRows[i]?.Data ?? []));
    firstPage = false;
    nextToken = page.NextToken;
  } while (nextToken !== undefined && nextToken !== '');
  return { columns, rows };
}

function toColumns(info: ColumnInfo[]): QueryResult['columns'] {
  return info.map((c, i) => ({ name: c.Name ?? c.Label ?? `_col${i}`, type: (c.Type ?? 'varchar').toLowerCase() }));
}

function toRow(columns: QueryResult['columns'], data: Datum[]): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  columns.forEach((column, i) => {
    row[column.name] = convert(column.type, data[i]?.VarCharValue);
  });
  return row;
}

/** Athena returns every value as text; turn it into what DuckDB would have handed back. */
function convert(type: string, value: string | undefined): unknown {
  // Athena signals SQL NULL by omitting VarCharValue; an empty string is a real empty varchar.
  if (value === undefined) return null;
  switch (type.replace(/\(.*$/, '').trim()) {
    case 'tinyint':
    case 'smallint':
    case 'integer':
    case 'int':
    case 'bigint':
    case 'double':
    case 'float':
    case 'real':
    case 'decimal':
      return Number(value);
    case 'boolean':
      return value === 'true';
    default:
      // varchar, char, date, timestamp, and nested array/map/row/json values stay as Athena's text.
      return value;
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
