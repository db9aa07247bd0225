import { createServer } from 'node:net';
import type { Command } from 'commander';
import { LOCAL_RAW_BUCKET } from '../../lambdas/lake/layout.ts';
import { CliError } from '../errors.ts';
import { DEFAULT_LOCAL_S3_PORT, LOCAL_CREDENTIALS, LOCAL_REGION } from '../local-endpoint.ts';
import { acquireLake } from '../lake-lock.ts';

interface ServeOptions {
  lake: string;
  port: string;
  host: string;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the embedded S3 endpoint; every upload to navlake-raw is ingested at once')
    .option('--lake <dir>', 'local lake directory', './lake')
    .option('-p, --port <port>', 'port', String(DEFAULT_LOCAL_S3_PORT))
    .option('--host <host>', 'address to bind (the server has no authentication)', '127.0.0.1')
    .action(async (opts: ServeOptions) => {
      const port = Number(opts.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliError(`--port must be 0-65535, not "${opts.port}"`, 2);
      // s3rver's run() does not reject when its listen fails: the error escapes as an uncaught 'error' event with a
      // stack trace. So the port is tried first, with the same host, and a busy one is reported as a usage error.
      if (port !== 0 && (await bindError(port, opts.host)) === 'EADDRINUSE') throw portInUse(port);
      const lock = await acquireLake(opts.lake, 'serve');
      const [{ Logger }, { powertoolsLogger }, { startLocalLake }] = await Promise.all([
        import('@aws-lambda-powertools/logger'),
        import('../../lambdas/ingest/handler.ts'),
        import('../local-lake.ts'),
      ]);
      const logger = new Logger({ serviceName: 'navlake-serve' });
      const lake = await startLocalLake({
        lakeDir: opts.lake,
        port,
        host: opts.host,
        logger: powertoolsLogger(logger),
        onOutcome: (key, outcome) => {
          if (outcome.status === 'missing') return;
          const i = outcome.ingestion;
          logger.info('upload processed', {
            source_key: key,
            status: i.status,
            records_written: i.records_written,
            error_code: i.error_code,
          });
        },
      }).catch(async (e: unknown) => {
        await lock.release();
        if ((e as NodeJS.ErrnoException | null)?.code === 'EADDRINUSE') throw portInUse(port, e);
        throw e;
      });
      await lock.announce(lake.server.endpoint);
      const endpoint = lake.server.endpoint;
      const lines = [
        `navlake: local S3 endpoint ${endpoint} (lake ${opts.lake})`,
        `  credentials: access key ${LOCAL_CREDENTIALS.accessKeyId}, secret ${LOCAL_CREDENTIALS.secretAccessKey}, region ${LOCAL_REGION}, path-style addressing`,
        `  upload:  AWS_ACCESS_KEY_ID=${LOCAL_CREDENTIALS.accessKeyId} AWS_SECRET_ACCESS_KEY=${LOCAL_CREDENTIALS.secretAccessKey} AWS_DEFAULT_REGION=${LOCAL_REGION} aws --endpoint-url ${endpoint} s3 cp export.txt s3://${LOCAL_RAW_BUCKET}/`,
        `  query:   npx navlake query "SELECT count(*) FROM observations" --lake ${opts.lake}`,
      ];
      if (!LOOPBACK.test(opts.host)) {
        lines.push(`  WARNING: bound to ${opts.host}: anyone who can reach it can read and write this lake (no authentication)`);
      } else {
        lines.push(`  bound to ${lake.server.host} only (use --host to expose it)`);
      }
      process.stdout.write(`${lines.join('\n')}\n`);
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await lake.close();
      await lock.release();
      process.stdout.write('navlake: stopped\n');
    });
}

function portInUse(port: number, cause?: unknown): CliError {
  return new CliError(`port ${port} is in use (another navlake serve?); stop it or pick another with --port`, 2, { cause });
}

/** The error code of binding `host:port` (undefined if it is free); the probe is closed again at once. */
function bindError(port: number, host: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'EUNKNOWN'));
    probe.listen(port, host, () => probe.close(() => resolve(undefined)));
  });
}
