import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { LOCAL_RAW_BUCKET } from '../../lambdas/lake/layout.ts';
import type { IngestOutcome } from '../../lambdas/ingest/ingest-upload.ts';
import { CliError } from '../errors.ts';
import { startLocalLake, type LocalLake } from '../local-lake.ts';
import { outcomeLines } from '../outcome-text.ts';
import { runningServe } from '../serve-lock.ts';

interface IngestOptions {
  lake: string;
  concurrency: string;
  prefix: string;
}

/** Uploads one file through the S3 API, as a user's `aws s3 cp` would, and waits for the handler's outcome. */
export async function uploadAndWait(lake: LocalLake, file: string, key: string): Promise<IngestOutcome> {
  const size = (await stat(file)).size;
  const put = await lake.server.client.send(
    new PutObjectCommand({ Bucket: LOCAL_RAW_BUCKET, Key: key, Body: createReadStream(file), ContentLength: size }),
  );
  return lake.outcomeOf(key, put.ETag ?? '');
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
        await stat(f).catch(() => {
          throw new CliError(`${f}: cannot read the file`, 2);
        });
      }
      const serving = await runningServe(opts.lake);
      if (serving) {
        throw new CliError(
          `navlake serve (pid ${serving.pid}) is running on ${opts.lake}; upload to it with ` +
            `\`aws --endpoint-url ${serving.endpoint} s3 cp FILE s3://${LOCAL_RAW_BUCKET}/\` or stop it first`,
          2,
        );
      }
      const lake = await startLocalLake({ lakeDir: opts.lake, port: 0 });
      const bar = process.stderr.isTTY ? new SingleBar({ format: 'ingesting [{bar}] {value}/{total} files', stream: process.stderr }) : null;
      bar?.start(files.length, 0);
      const results: Array<{ file: string; outcome?: IngestOutcome; error?: unknown }> = files.map((file) => ({ file }));
      let next = 0;
      const worker = async () => {
        while (next < files.length) {
          const i = next++;
          const file = files[i] as string;
          const entry = results[i] as (typeof results)[number];
          try {
            entry.outcome = await uploadAndWait(lake, file, `${opts.prefix}${basename(file)}`);
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
