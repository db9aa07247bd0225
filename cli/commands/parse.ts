import { basename } from 'node:path';
import { stat } from 'node:fs/promises';
import type { Command } from 'commander';
import { OBSERVATION_COLUMNS } from '../../lambdas/schema/columns.ts';
import { type ParseSummary, parseFile, parseFileStream, summarizeFile } from '../../lambdas/parser/index.ts';
import { CliError } from '../errors.ts';
import { jsonLineEncoder } from '../../lambdas/schema/json-line.ts';
import { csvLine, formatTable, writeOut, type OutputFormat } from '../format.ts';
import { LineSink } from '../line-sink.ts';

const COLUMNS: readonly string[] = OBSERVATION_COLUMNS.map((c) => c.name);
/** What a table needs to be read in an 80-120 column terminal; the other columns repeat per section or per file. */
const TABLE_COLUMNS = ['main_group', 'measure_group', 'region', 'region_code', 'period', 'value'];

function chosenColumns(list: string | undefined, format: OutputFormat): string[] {
  if (list === undefined) return format === 'table' ? TABLE_COLUMNS : [...COLUMNS];
  const names = list.split(',').map((n) => n.trim());
  const unknown = names.filter((n) => !COLUMNS.includes(n));
  // Splitting never gives no names: an empty list is one empty, unknown name, and says so.
  if (unknown.length > 0) {
    throw new CliError(`--columns: no column ${unknown.map((n) => JSON.stringify(n)).join(', ')}; choose from ${COLUMNS.join(', ')}`, 2);
  }
  return names;
}

export function registerParse(program: Command): void {
  program
    .command('parse')
    .description('parse a NAV export into long-format records on stdout; warnings go to stderr')
    .argument('<file>', 'the export (.txt as downloaded from NAV)')
    .option('-f, --format <format>', `ndjson, csv or table`, 'ndjson')
    .option('--columns <names>', `comma-separated columns to print (table: ${TABLE_COLUMNS.join(',')}; others: all)`)
    .action(async (file: string, opts: { format: string; columns?: string }) => {
      const format = opts.format as OutputFormat;
      if (!['ndjson', 'csv', 'table'].includes(format)) {
        throw new CliError(`--format must be ndjson, csv or table, not "${opts.format}"`, 2);
      }
      const columns = chosenColumns(opts.columns, format);
      const info = await stat(file).catch((cause: unknown) => {
        throw new CliError(`${file}: cannot read the file (${(cause as NodeJS.ErrnoException).code ?? 'error'})`, 2, { cause });
      });
      if (!info.isFile()) throw new CliError(`${file}: not a file; give one export file`, 2);
      const options = { file: basename(file), sourceKey: basename(file) };
      let summary: ParseSummary;
      if (format === 'table') {
        const result = await parseFile(file, options);
        summary = result.summary;
        await writeOut(process.stdout, `${formatTable(columns, result.records)}\n`);
      } else {
        // Records stream out before the last section is read, and a later section may raise the vintage: a first
        // pass without records learns the file's (and fails a bad file before anything is printed).
        const { vintage } = await summarizeFile(file, options);
        const sink = new LineSink(process.stdout, format === 'csv' ? 'utf8' : 'latin1');
        if (format === 'csv') sink.push(columns.join(','));
        const line =
          format === 'csv' ? (r: Record<string, unknown>) => csvLine(columns, r) : jsonLineEncoder(columns, { encoding: 'utf8-as-latin1' });
        summary = await parseFileStream(
          file,
          async (batch) => {
            for (const r of batch) sink.push(line(r));
            await sink.flush();
          },
          vintage === null ? options : { ...options, vintage },
        );
        await sink.end();
      }
      for (const w of summary.warnings) {
        process.stderr.write(`navlake: ${summary.file}:${w.line}: warning: ${w.code}: ${w.message}\n`);
      }
      process.stderr.write(
        `navlake: ${summary.file}: ${summary.records} records (${summary.suppressed} suppressed) from ${summary.sections} sections, ${summary.warnings.length} warning${summary.warnings.length === 1 ? '' : 's'}\n`,
      );
    });
}
