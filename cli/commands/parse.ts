import { basename } from 'node:path';
import { stat } from 'node:fs/promises';
import type { Command } from 'commander';
import { OBSERVATION_COLUMNS } from '../../lambdas/schema/columns.ts';
import { type ParseSummary, parseFile, parseFileStream, summarizeFile } from '../../lambdas/parser/index.ts';
import { CliError } from '../errors.ts';
import { csvLine, formatTable, ndjsonLine, writeOut, type OutputFormat } from '../format.ts';

const COLUMNS = OBSERVATION_COLUMNS.map((c) => c.name);

export function registerParse(program: Command): void {
  program
    .command('parse')
    .description('parse a NAV export into long-format records on stdout; warnings go to stderr')
    .argument('<file>', 'the export (.txt as downloaded from NAV)')
    .option('-f, --format <format>', `ndjson, csv or table`, 'ndjson')
    .action(async (file: string, opts: { format: string }) => {
      const format = opts.format as OutputFormat;
      if (!['ndjson', 'csv', 'table'].includes(format)) {
        throw new CliError(`--format must be ndjson, csv or table, not "${opts.format}"`, 2);
      }
      const info = await stat(file).catch((cause: unknown) => {
        throw new CliError(`${file}: cannot read the file (${(cause as NodeJS.ErrnoException).code ?? 'error'})`, 2, { cause });
      });
      if (!info.isFile()) throw new CliError(`${file}: not a file; give one export file`, 2);
      const options = { file: basename(file), sourceKey: basename(file) };
      let summary: ParseSummary;
      if (format === 'table') {
        const result = await parseFile(file, options);
        summary = result.summary;
        await writeOut(process.stdout, `${formatTable(COLUMNS, result.records)}\n`);
      } else {
        // Records stream out before the last section is read, and a later section may raise the vintage: a first
        // pass without records learns the file's (and fails a bad file before anything is printed).
        const { vintage } = await summarizeFile(file, options);
        if (format === 'csv') await writeOut(process.stdout, `${COLUMNS.join(',')}\n`);
        const line = format === 'csv' ? (r: Record<string, unknown>) => csvLine(COLUMNS, r) : ndjsonLine;
        summary = await parseFileStream(
          file,
          async (batch) => {
            let text = '';
            for (const r of batch) text += `${line(r)}\n`;
            await writeOut(process.stdout, text);
          },
          vintage === null ? options : { ...options, vintage },
        );
      }
      for (const w of summary.warnings) {
        process.stderr.write(`navlake: ${summary.file}:${w.line}: warning: ${w.code}: ${w.message}\n`);
      }
      process.stderr.write(
        `navlake: ${summary.file}: ${summary.records} records (${summary.suppressed} suppressed) from ${summary.sections} sections, ${summary.warnings.length} warning${summary.warnings.length === 1 ? '' : 's'}\n`,
      );
    });
}
