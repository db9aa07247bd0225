import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import type {
  ColumnInfo,
  GetQueryExecutionOutput,
  GetQueryResultsOutput,
  QueryExecutionState,
  StatementType,
} from '@aws-sdk/client-athena';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AthenaQueryError, runAthenaQuery } from '../cli/athena-query.ts';

const ID = '5b1f2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
const athena = mockClient(AthenaClient);
// Tiny intervals keep the real-timer tests fast; backoff itself is pinned with fake timers.
const FAST = { pollInitialMs: 1, pollMaxMs: 2 };

/** A GetQueryExecution response as Athena sends it (trimmed of statistics we never read). */
function execution(
  state: QueryExecutionState,
  extra: { statementType?: StatementType; reason?: string; errorMessage?: string } = {},
): GetQueryExecutionOutput {
  return {
    QueryExecution: {
      QueryExecutionId: ID,
      Query: 'SELECT ...',
      StatementType: extra.statementType ?? 'DML',
      ResultConfiguration: { OutputLocation: `s3://navlake-athena-results/${ID}.csv` },
      QueryExecutionContext: { Database: 'navlake', Catalog: 'awsdatacatalog' },
      Status: {
        State: state,
        SubmissionDateTime: new Date('2024-05-01T10:00:00Z'),
        ...(extra.reason === undefined ? {} : { StateChangeReason: extra.reason }),
        ...(extra.errorMessage === undefined
          ? {}
          : { AthenaError: { ErrorCategory: 2, ErrorType: 1006, Retryable: false, ErrorMessage: extra.errorMessage } }),
      },
      WorkGroup: 'navlake',
      EngineVersion: { SelectedEngineVersion: 'AUTO', EffectiveEngineVersion: 'Athena engine version 3' },
    },
  };
}

function column(name: string, type: string): ColumnInfo {
  return {
    CatalogName: 'hive',
    SchemaName: '',
    TableName: '',
    Name: name,
    Label: name,
    Type: type,
    Precision: type === 'varchar' ? 2147483647 : 10,
    Scale: 0,
    Nullable: 'UNKNOWN',
    CaseSensitive: type === 'varchar',
  };
}

/** Athena leaves VarCharValue out entirely for SQL NULL. */
function row(...values: (string | null)[]) {
  return { Data: values.map((v) => (v === null ? {} : { VarCharValue: v })) };
}

function page(columns: ColumnInfo[], rows: ReturnType<typeof row>[], nextToken?: string): GetQueryResultsOutput {
  return {
    UpdateCount: 0,
    ResultSet: { Rows: rows, ResultSetMetadata: { ColumnInfo: columns } },
    ...(nextToken === undefined ? {} : { NextToken: nextToken }),
  };
}

const client = () => new AthenaClient({ region: 'eu-north-1' });

beforeEach(() => {
  athena.reset();
  athena.on(StartQueryExecutionCommand).resolves({ $metadata: {}, QueryExecutionId: ID });
  athena.on(StopQueryExecutionCommand).resolves({ $metadata: {} });
});

afterEach(() => {
  vi.useRealTimers();
});

describe('runAthenaQuery', () => {
  it('starts the query with exactly the workgroup and database context, defaulting both to navlake', async () => {
    // Prepare
    const cols = [column('n', 'integer')];
    athena.on(GetQueryExecutionCommand).resolves(execution('SUCCEEDED'));
    athena.on(GetQueryResultsCommand).resolves(page(cols, [row('n'), row('1')]));

    // Act
    await runAthenaQuery('SELECT 1 AS n', { client: client(), ...FAST });
    await runAthenaQuery('SELECT 2 AS n', { client: client(), ...FAST, workgroup: 'wg-test', database: 'db_test' });

    // Assess
    const starts = athena.commandCalls(StartQueryExecutionCommand).map((c) => c.args[0].input);
    expect(starts).toStrictEqual([
      {
        QueryString: 'SELECT 1 AS n',
        WorkGroup: 'navlake',
        QueryExecutionContext: { Database: 'navlake', Catalog: 'AwsDataCatalog' },
      },
      {
        QueryString: 'SELECT 2 AS n',
        WorkGroup: 'wg-test',
        QueryExecutionContext: { Database: 'db_test', Catalog: 'AwsDataCatalog' },
      },
    ]);
    expect(athena.commandCalls(GetQueryExecutionCommand)[0]?.args[0].input).toStrictEqual({ QueryExecutionId: ID });
  });

  it('polls through QUEUED and RUNNING until SUCCEEDED', async () => {
    // Prepare
    athena
      .on(GetQueryExecutionCommand)
      .resolvesOnce(execution('QUEUED'))
      .resolvesOnce(execution('RUNNING'))
      .resolvesOnce(execution('RUNNING'))
      .resolves(execution('SUCCEEDED'));
    athena.on(GetQueryResultsCommand).resolves(page([column('n', 'integer')], [row('n'), row('7')]));

    // Act
    const result = await runAthenaQuery('SELECT 7 AS n', { client: client(), ...FAST });

    // Assess
    expect(athena.commandCalls(GetQueryExecutionCommand)).toHaveLength(4);
    expect(athena.commandCalls(GetQueryResultsCommand)).toHaveLength(1);
    expect(result.rows).toEqual([{ n: 7 }]);
  });

  it('backs off exponentially between polls, capped at pollMaxMs', async () => {
    // Prepare
    vi.useFakeTimers();
    athena
      .on(GetQueryExecutionCommand)
      .resolvesOnce(execution('QUEUED'))
      .resolvesOnce(execution('RUNNING'))
      .resolvesOnce(execution('RUNNING'))
      .resolves(execution('SUCCEEDED'));
    athena.on(GetQueryResultsCommand).resolves(page([column('n', 'integer')], [row('n')]));
    const polls = () => athena.commandCalls(GetQueryExecutionCommand).length;

    // Act
    const done = runAthenaQuery('SELECT 1', { client: client(), pollInitialMs: 100, pollMaxMs: 250 });
    const seen: number[] = [];
    for (const step of [99, 1, 199, 1, 249, 1, 249, 1]) {
      await vi.advanceTimersByTimeAsync(step);
      seen.push(polls());
    }
    await done;

    // Assess: waits of 100, 200, then 250 (capped), 250.
    expect(seen).toEqual([0, 1, 1, 2, 2, 3, 3, 4]);
  });

  it('pages with NextToken and skips the header row only on the first page', async () => {
    // Prepare
    const cols = [column('fylke', 'varchar'), column('antall', 'integer')];
    athena.on(GetQueryExecutionCommand).resolves(execution('SUCCEEDED'));
    athena
      .on(GetQueryResultsCommand)
      .resolvesOnce(page(cols, [row('fylke', 'antall'), row('Oslo', '10'), row('Viken', '20')], 'token-2'))
      .resolvesOnce(page(cols, [row('Agder', '30'), row('Vestland', '40')], 'token-3'))
      .resolvesOnce(page(cols, [row('Troms', '50')]));

    // Act
    const result = await runAthenaQuery('SELECT fylke, antall FROM tiltak', { client: client(), ...FAST });

    // Assess
    const requests = athena.commandCalls(GetQueryResultsCommand).map((c) => c.args[0].input);
    expect(requests).toEqual([
      { QueryExecutionId: ID, MaxResults: 1000 },
      { QueryExecutionId: ID, MaxResults: 1000, NextToken: 'token-2' },
      { QueryExecutionId: ID, MaxResults: 1000, NextToken: 'token-3' },
    ]);
    expect(result.columns).toEqual([
      { name: 'fylke', type: 'varchar' },
      { name: 'antall', type: 'integer' },
    ]);
    expect(result.rows).toEqual([
      { fylke: 'Oslo', antall: 10 },
      { fylke: 'Viken', antall: 20 },
      { fylke: 'Agder', antall: 30 },
      { fylke: 'Vestland', antall: 40 },
      { fylke: 'Troms', antall: 50 },
    ]);
  });

  it('converts values by Athena column type, with a missing VarCharValue as null', async () => {
    // Prepare
    const cols = [
      column('i', 'integer'),
      column('b', 'bigint'),
      column('ok', 'boolean'),
      column('no', 'boolean'),
      column('s', 'varchar'),
      column('d', 'double'),
      column('dec', 'decimal'),
      column('day', 'date'),
      column('arr', 'array'),
      column('missing', 'integer'),
      column('empty', 'varchar'),
    ];
    athena.on(GetQueryExecutionCommand).resolves(execution('SUCCEEDED'));
    athena
      .on(GetQueryResultsCommand)
      .resolves(
        page(cols, [
          row('i', 'b', 'ok', 'no', 's', 'd', 'dec', 'day', 'arr', 'missing', 'empty'),
          row('42', '9007199254740991', 'true', 'false', '0301 Oslo', '1.5', '12.25', '2024-05-01', '[1, 2]', null, ''),
        ]),
      );

    // Act
    const result = await runAthenaQuery('SELECT ...', { client: client(), ...FAST });

    // Assess
    expect(result.rows).toStrictEqual([
      {
        i: 42,
        b: 9007199254740991,
        ok: true,
        no: false,
        s: '0301 Oslo',
        d: 1.5,
        dec: 12.25,
        day: '2024-05-01',
        arr: '[1, 2]',
        missing: null,
        empty: '',
      },
    ]);
  });

  it('keeps the first row of a non-DML statement', async () => {
    // Prepare
    athena.on(GetQueryExecutionCommand).resolves(execution('SUCCEEDED', { statementType: 'DDL' }));
    athena.on(GetQueryResultsCommand).resolves(page([column('tab_name', 'string')], [row('observations'), row('regions')]));

    // Act
    const result = await runAthenaQuery('SHOW TABLES', { client: client(), ...FAST });

    // Assess
    expect(result.rows).toEqual([{ tab_name: 'observations' }, { tab_name: 'regions' }]);
  });

  it("throws AthenaQueryError with Athena's reason and the execution id when the query FAILED", async () => {
    // Prepare
    const reason =
      "COLUMN_NOT_FOUND: line 1:8: Column 'nope' cannot be resolved or requester is not authorized to access requested resources";
    athena
      .on(GetQueryExecutionCommand)
      .resolvesOnce(execution('RUNNING'))
      .resolves(execution('FAILED', { reason, errorMessage: reason }));

    // Act
    const error = await runAthenaQuery('SELECT nope FROM observations', { client: client(), ...FAST }).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(AthenaQueryError);
    expect(error).toMatchObject({ state: 'FAILED', queryExecutionId: ID, reason });
    expect((error as Error).message).toContain(reason);
    expect(athena.commandCalls(GetQueryResultsCommand)).toHaveLength(0);
    expect(athena.commandCalls(StopQueryExecutionCommand)).toHaveLength(0);
  });

  it('adds AthenaError.ErrorMessage to the reason when it says something StateChangeReason does not', async () => {
    // Prepare
    athena
      .on(GetQueryExecutionCommand)
      .resolves(execution('FAILED', { reason: 'Query exhausted resources', errorMessage: 'EXCEEDED_MEMORY_LIMIT' }));

    // Act
    const error = await runAthenaQuery('SELECT 1', { client: client(), ...FAST }).catch((e: unknown) => e);

    // Assess
    expect(error).toMatchObject({ state: 'FAILED', reason: 'Query exhausted resources (EXCEEDED_MEMORY_LIMIT)' });
  });

  it('throws AthenaQueryError CANCELLED with the reason when someone else cancelled the query', async () => {
    // Prepare
    athena
      .on(GetQueryExecutionCommand)
      .resolvesOnce(execution('QUEUED'))
      .resolves(execution('CANCELLED', { reason: 'Query was cancelled by user' }));

    // Act
    const error = await runAthenaQuery('SELECT 1', { client: client(), ...FAST }).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(AthenaQueryError);
    expect(error).toMatchObject({ state: 'CANCELLED', queryExecutionId: ID, reason: 'Query was cancelled by user' });
    expect(athena.commandCalls(GetQueryResultsCommand)).toHaveLength(0);
  });

  it('stops the query and throws TIMEOUT when it does not finish in time', async () => {
    // Prepare
    athena.on(GetQueryExecutionCommand).resolves(execution('RUNNING'));

    // Act
    const error = await runAthenaQuery('SELECT * FROM huge', { client: client(), ...FAST, timeoutMs: 20 }).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(AthenaQueryError);
    expect(error).toMatchObject({ state: 'TIMEOUT', queryExecutionId: ID });
    expect(athena.commandCalls(StopQueryExecutionCommand).map((c) => c.args[0].input)).toStrictEqual([{ QueryExecutionId: ID }]);
    expect(athena.commandCalls(GetQueryResultsCommand)).toHaveLength(0);
  });

  it('still throws TIMEOUT, with the stop failure as cause, when StopQueryExecution fails', async () => {
    // Prepare
    const stopFailure = new Error('AccessDeniedException');
    athena.on(GetQueryExecutionCommand).resolves(execution('QUEUED'));
    athena.on(StopQueryExecutionCommand).rejects(stopFailure);

    // Act
    const error = await runAthenaQuery('SELECT 1', { client: client(), ...FAST, timeoutMs: 5 }).catch((e: unknown) => e);

    // Assess
    expect(error).toMatchObject({ state: 'TIMEOUT', cause: stopFailure });
  });

  it('stops the query and rejects with the abort reason when the signal aborts while polling', async () => {
    // Prepare
    const controller = new AbortController();
    athena.on(GetQueryExecutionCommand).callsFake(() => {
      controller.abort(new Error('user pressed Ctrl-C'));
      return execution('RUNNING');
    });

    // Act
    const error = await runAthenaQuery('SELECT 1', { client: client(), ...FAST, signal: controller.signal }).catch((e: unknown) => e);

    // Assess
    expect(error).toMatchObject({ message: 'user pressed Ctrl-C' });
    expect(athena.commandCalls(StopQueryExecutionCommand)).toHaveLength(1);
  });
});
