import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import type { IngestOutcome } from '../../lambdas/ingest/ingest-upload.ts';
import { CliError } from '../errors.ts';
import { outcomeLines } from '../outcome-text.ts';
import { acquireLake } from '../lake-lock.ts';

interface IngestOptions {
  lake: string;
  concurrency: string;
  prefix: string;
}

export function registerIngest(program: Command): void {
  program
    .command('ingest')
    .description('upload exports to the embedded lake and wait for each to be processed')
    .argument('<files...>', 'NAV export files')
    .option('--lake <dir>', 'local lake directory', './lake')
    .option('-c, --concurrency <n>', 'uploads at a time', '4')
    .option('--prefix <prefix>', 'key prefix in the raw bucket', '')
    .action(async (files: string[], opts: IngestOptions) => {
      const concurrency = Number(opts.concurrency);
      if (!Number.isInteger(concurrency) || concurrency < 1) throw new CliError('--concurrency must be a whole number >= 1', 2);
      for (const f of files) {
        const info = await stat(f).catch(() => {
          throw new CliError(`${f}: cannot read the file`, 2);
        });
        if (!info.isFile()) throw new CliError(`${f}: not a file; give the export files themselves (e.g. ${f}/*.txt)`, 2);
      }
      const { startLocalLake, upload } = await import('../local-lake.ts');
      const lock = await acquireLake(opts.lake, 'ingest');
      const lake = await startLocalLake({ lakeDir: opts.lake, port: 0, catalogFrom: 'first-upload' }).catch(async (e: unknown) => {
        await lock.release();
        throw e;
      });
      const bar = process.stderr.isTTY
        ? new SingleBar({ format: 'ingesting [{bar}] {value}/{total} files', stream: process.stderr })
        : null;
      bar?.start(files.length, 0);
      const results: Array<{ file: string; outcome?: IngestOutcome; error?: unknown }> = files.map((file) => ({ file }));
      let next = 0;
      // Uploads are stored one after another in argument order, so of two exports of the same vintage the later
      // argument is the later upload and wins, however --concurrency schedules their processing.
      let storing: Promise<unknown> = Promise.resolve();
      const worker = async () => {
        while (next < files.length) {
          const i = next++;
          const file = files[i] as string;
          const entry = results[i] as (typeof results)[number];
          const stored = storing.then(async () => upload(lake, file, await uploadKey(file, opts.prefix)));
          storing = stored.catch(() => undefined);
          try {
            entry.outcome = await (await stored).outcome;
          } catch (e) {
            entry.error = e;
          }
          bar?.increment();
        }
      };
      try {
        await Promise.all(Array.from({ length: Math.min(concurrency, files.length) }, worker));
      } finally {
        bar?.stop();
        await lake.close();
        await lock.release();
      }
      let failed = 0;
      for (const r of results) {
        if (r.outcome) {
          process.stdout.write(`${outcomeLines(r.file, r.outcome).join('\n')}\n`);
          if (r.outcome.status === 'rejected' || r.outcome.status === 'missing') failed++;
        } else {
          failed++;
          process.stdout.write(`✗ ${r.file}: ${r.error instanceof Error ? r.error.message : String(r.error)}\n`);
        }
      }
      if (failed > 0) throw new CliError(`${failed} of ${files.length} file${files.length === 1 ? '' : 's'} not ingested`, 1);
    });
}

/**
 * The file name with a short hash of its content: two files of the same name from different folders are two uploads,
 * not one overwriting the other, and the same file ingested again is the same key again.
 */
export async function uploadKey(file: string, prefix = ''): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  const name = basename(file);
  const ext = extname(name);
  const stem = ext ? name.slice(0, -ext.length) : name;
  return `${prefix}${stem}-${hash.digest('hex').slice(0, 8)}${ext}`;
}
