import { stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { CliError } from '../errors.ts';
import { isLakeDir } from '../lake-dir.ts';

interface ReportOptions {
  lake: string;
  out?: string;
}

export function registerReport(program: Command): void {
  program
    .command('report')
    .description('write a self-contained HTML report of the local lake: charts and the ingestions')
    .option('--lake <dir>', 'local lake directory', './lake')
    .option('--out <file>', 'the HTML file to write (default: <lake>/report.html)')
    .action(async (opts: ReportOptions) => {
      if (!(await isLakeDir(opts.lake))) {
        throw new CliError(`${opts.lake} is not a navlake lake (no s3/ directory); ingest into it first or pick another --lake`, 2);
      }
      const out = opts.out ?? join(opts.lake, 'report.html');
      await checkOutDir(out);
      // Loaded on demand: Vega and DuckDB would slow every other command's start-up.
      const { formatSize, writeReport } = await import('../report/index.ts');
      const written = await writeReport(opts.lake, out).catch((cause: unknown) => {
        const code = (cause as NodeJS.ErrnoException).code;
        // The lake was read; only writing the page failed (no permission, a full disk, a read-only place).
        if (code) throw new CliError(`cannot write ${out} (${code}); pick another --out`, 2, { cause });
        throw cause;
      });
      process.stdout.write(`navlake report: wrote ${written.path} (${formatSize(written.bytes)})\n`);
    });
}

async function checkOutDir(out: string): Promise<void> {
  const dir = dirname(out);
  const isDir = await stat(dir).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!isDir) throw new CliError(`cannot write ${out}: the directory ${dir} does not exist`, 2);
  const isDirOut = await stat(out).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (isDirOut) throw new CliError(`cannot write ${out}: it is a directory; give a file name`, 2);
}
