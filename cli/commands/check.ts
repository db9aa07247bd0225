import type { Command } from 'commander';
import { CliError } from '../errors.ts';

export function registerCheck(program: Command): void {
  program
    .command('check')
    .description('verify every object of a local lake (readable, rules kept, accounted for, no leftovers); exit 1 on problems')
    .option('--lake <dir>', 'local lake directory', './lake')
    .action(async (opts: { lake: string }) => {
      const { checkLake } = await import('../lake-check.ts');
      const report = await checkLake(opts.lake);
      for (const p of report.problems) process.stdout.write(`✗ ${p}\n`);
      const summary = `${report.objects} objects, ${report.rows} rows, ${report.ingestions} ingestion records`;
      if (report.problems.length > 0) {
        throw new CliError(`${opts.lake}: ${report.problems.length} problem${report.problems.length === 1 ? '' : 's'} (${summary})`, 1);
      }
      process.stdout.write(`navlake check: ${opts.lake} is sound: ${summary}\n`);
    });
}
