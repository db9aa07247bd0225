import type { Command } from 'commander';
import { CliError } from '../errors.ts';
import { isLakeDir } from '../lake-dir.ts';
import { formatRows, writeOut, type OutputFormat } from '../format.ts';
import type { QueryResult } from '../local-query.ts';

const FORMATS = ['table', 'csv', 'json'] as const;

interface QueryOptions {
  lake: string;
  format: string;
  athena?: boolean;
  workgroup: string;
  database: string;
}

export function registerQuery(program: Command): void {
  program
    .command('query')
    .description('run SQL over the lake: DuckDB on the local lake, or Athena with --athena')
    .argument('<sql>', 'the SQL statement; tables: observations, ingestions')
    .option('--lake <dir>', 'local lake directory', './lake')
    .option('-f, --format <format>', 'table, csv or json (one JSON array of row objects)', 'table')
    .option('--athena', 'run on Amazon Athena instead of the local lake')
    .option('--workgroup <name>', 'Athena workgroup', 'navlake')
    .option('--database <name>', 'Athena (Glue) database', 'navlake')
    .action(async (sql: string, opts: QueryOptions) => {
      if (!(FORMATS as readonly string[]).includes(opts.format)) {
        throw new CliError(`--format must be table, csv or json, not "${opts.format}"`, 2);
      }
      if (!opts.athena && !(await isLakeDir(opts.lake))) {
        throw new CliError(`${opts.lake} is not a navlake lake (no s3/ directory); ingest into it first or pick another --lake`, 2);
      }
      // Loaded on demand, and only the engine asked for: the AWS SDK and DuckDB take most of the CLI's start-up time.
      const result = opts.athena ? await athenaResult(sql, opts) : await localResult(opts.lake, sql);
      const columns = result.columns.map((c) => c.name);
      await writeOut(process.stdout, `${formatRows(opts.format as OutputFormat, columns, result.rows)}\n`);
    });
}

async function localResult(lake: string, sql: string): Promise<QueryResult> {
  const { MultipleStatementsError, QueryError, runLocalQuery } = await import('../local-query.ts');
  try {
    return await runLocalQuery(lake, sql);
  } catch (e) {
    if (e instanceof MultipleStatementsError) throw new CliError(e.message, 2, { cause: e });
    if (e instanceof QueryError) throw new CliError(e.message, 1, { cause: e });
    throw e;
  }
}

async function athenaResult(sql: string, opts: QueryOptions): Promise<QueryResult> {
  const { AthenaQueryError, runAthenaQuery } = await import('../athena-query.ts');
  try {
    return await runAthenaQuery(sql, { workgroup: opts.workgroup, database: opts.database });
  } catch (e) {
    if (e instanceof AthenaQueryError) throw new CliError(e.message, 1, { cause: e });
    throw e;
  }
}
