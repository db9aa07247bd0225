import { readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { EXAMPLE_QUERIES } from '../../lambdas/schema/example-queries.ts';
import { formatTable } from '../format.ts';
import { outcomeLines } from '../outcome-text.ts';
import { acquireLake, lakeHolder } from '../lake-lock.ts';
import { CliError } from '../errors.ts';
import { packagePath } from '../package-root.ts';

export const SAMPLE_EXPORT = packagePath('fixtures', 'nav-tiltak-fylke-2019.txt');

const DEMO_MARKER = '.navlake-demo';
const DEMO_ROWS = 20;

/** Empties a lake the demo made before; any other non-empty directory is left alone and refused. */
async function emptyDemoLake(dir: string): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch {
    return;
  }
  if (entries.length === 0) return;
  if (!entries.includes(DEMO_MARKER)) {
    throw new CliError(`${dir} is not empty and was not made by navlake demo; pick another --lake (the demo empties it first)`, 2);
  }
  const holder = await lakeHolder(dir);
  if (holder) throw new CliError(`navlake ${holder.command} (pid ${holder.pid}) is running on ${dir}`, 2);
  await rm(dir, { recursive: true, force: true });
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('ingest the bundled 2019 sample into a fresh embedded lake and answer a few questions with SQL')
    .option('--lake <dir>', 'where to build the demo lake (emptied first)', './demo-lake')
    .action(async (opts: { lake: string }) => {
      const [{ startLocalLake, uploadAndWait }, { runSql, withLakeConnection }, { formatSize, writeReport }] = await Promise.all([
        import('../local-lake.ts'),
        import('../local-query.ts'),
        import('../report/index.ts'),
      ]);
      await emptyDemoLake(opts.lake);
      const lock = await acquireLake(opts.lake, 'demo');
      await writeFile(join(opts.lake, DEMO_MARKER), 'made by navlake demo; emptied by the next demo\n');
      const out = (s = '') => process.stdout.write(`${s}\n`);
      out(`navlake demo: a fresh embedded lake in ${opts.lake}`);
      const started = Date.now();
      try {
        const lake = await startLocalLake({ lakeDir: opts.lake, port: 0 });
        out(`  local S3 endpoint ${lake.server.endpoint}; uploading the 2019 sample export (NAV, "Deltakere i arbeidsrettede tiltak")`);
        try {
          const outcome = await uploadAndWait(lake, SAMPLE_EXPORT, 'nav-tiltak-fylke-2019.txt');
          for (const line of outcomeLines('nav-tiltak-fylke-2019.txt', outcome)) out(`  ${line}`);
        } finally {
          await lake.close();
        }
      } finally {
        await lock.release();
      }
      out(`  upload to queryable: ${Date.now() - started} ms`);
      // One DuckDB with the views for all the questions, rather than a fresh one (and fresh views) per question.
      await withLakeConnection(opts.lake, async (connection) => {
        for (const q of EXAMPLE_QUERIES) {
          const result = await runSql(connection, q.sql);
          out();
          out(`## ${q.question}`);
          out(q.sql.replace(/^/gm, '    '));
          out();
          // A long answer (a series per region group) would push the others off the screen: its first rows say enough.
          const shown = result.rows.slice(0, DEMO_ROWS);
          const table = formatTable(
            result.columns.map((c) => c.name),
            shown,
          );
          out(
            (shown.length < result.rows.length
              ? table.replace(/\(\d+ rows?\)$/, `... (${result.rows.length} rows; the first ${DEMO_ROWS} shown)`)
              : table
            ).replace(/^/gm, '  '),
          );
        }
      });
      out();
      out(`The lake stays in ${opts.lake}. Try: npx navlake query "SELECT * FROM observations LIMIT 5" --lake ${opts.lake}`);
      out(`DuckDB-speaking tools can open ${opts.lake}/navlake.duckdb (read-only) for the same views.`);
      const report = await writeReport(opts.lake, join(opts.lake, 'report.html'));
      out(`A report with charts and the ingestions: ${report.path} (${formatSize(report.bytes)}); open it in a browser.`);
    });
}
