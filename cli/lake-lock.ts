/**
 * One process at a time works on a local lake: s3rver ignores conditional writes, so "latest vintage wins" rests on
 * the per-key lock inside the one process that runs the handler. `serve`, `ingest` and `demo` take `DIR/lake.lock`
 * (created exclusively); a lock left by a killed process is taken over.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CliError } from './errors.ts';

export interface LakeHolder {
  pid: number;
  command: 'serve' | 'ingest' | 'demo';
  endpoint?: string;
}

export interface LakeLock {
  /** Records the S3 endpoint, so that a refused `ingest` can point at the running server. */
  announce(endpoint: string): Promise<void>;
  release(): Promise<void>;
}

const FILE = 'lake.lock';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function lakeHolder(lakeDir: string): Promise<LakeHolder | null> {
  try {
    const holder = JSON.parse(await readFile(join(lakeDir, FILE), 'utf8')) as LakeHolder;
    return holder.pid !== process.pid && alive(holder.pid) ? holder : null;
  } catch {
    return null;
  }
}

function busy(lakeDir: string, holder: LakeHolder): CliError {
  const where = holder.endpoint ? ` at ${holder.endpoint}` : '';
  const hint =
    holder.command === 'serve' && holder.endpoint
      ? `; upload to it with \`aws --endpoint-url ${holder.endpoint} s3 cp FILE s3://navlake-raw/\` or stop it first`
      : '; wait for it to finish or pick another --lake';
  return new CliError(`navlake ${holder.command} (pid ${holder.pid}) is running on ${lakeDir}${where}${hint}`, 2);
}

export async function acquireLake(lakeDir: string, command: LakeHolder['command']): Promise<LakeLock> {
  await mkdir(lakeDir, { recursive: true });
  const file = join(lakeDir, FILE);
  const mine: LakeHolder = { pid: process.pid, command };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(file, `${JSON.stringify(mine)}\n`, { flag: 'wx' });
      return {
        announce: (endpoint) => writeFile(file, `${JSON.stringify({ ...mine, endpoint })}\n`),
        release: () => rm(file, { force: true }),
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const holder = await lakeHolder(lakeDir);
      if (holder) throw busy(lakeDir, holder);
      // Left by a process that no longer runs.
      await rm(file, { force: true });
    }
  }
  throw new CliError(`could not lock ${lakeDir}: another navlake process keeps taking it`, 2);
}
