/**
 * One process at a time works on a local lake: s3rver ignores conditional writes, so "latest vintage wins" rests on
 * the per-key lock inside the one process that runs the handler. `serve`, `ingest` and `demo` take `DIR/lake.lock`;
 * a lock left by a killed process, or one a kill left empty or unreadable, is taken over.
 *
 * The lock file is never written in place: it is made complete under a temporary name, then linked into place (which
 * fails if a lock exists, so taking it stays exclusive) or, to announce the endpoint, renamed over it. A reader sees
 * a whole lock or none, never an empty one that it would take for stale.
 */
import { randomBytes } from 'node:crypto';
import { link, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
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
const TEMP = /^lake\.lock\.(\d+)-[0-9a-f]{8}\.tmp$/;
const COMMANDS: readonly string[] = ['serve', 'ingest', 'demo'];

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function isHolder(x: unknown): x is LakeHolder {
  const h = x as Partial<LakeHolder> | null;
  return (
    typeof h === 'object' &&
    h !== null &&
    // 0 and negative pids address process groups, which are always "alive".
    Number.isSafeInteger(h.pid) &&
    (h.pid as number) > 0 &&
    typeof h.command === 'string' &&
    COMMANDS.includes(h.command) &&
    (h.endpoint === undefined || typeof h.endpoint === 'string')
  );
}

export async function lakeHolder(lakeDir: string): Promise<LakeHolder | null> {
  let holder: unknown;
  try {
    holder = JSON.parse(await readFile(join(lakeDir, FILE), 'utf8'));
  } catch {
    return null;
  }
  return isHolder(holder) && holder.pid !== process.pid && alive(holder.pid) ? holder : null;
}

function busy(lakeDir: string, holder: LakeHolder): CliError {
  const where = holder.endpoint ? ` at ${holder.endpoint}` : '';
  const hint =
    holder.command === 'serve' && holder.endpoint
      ? `; upload to it with \`aws --endpoint-url ${holder.endpoint} s3 cp FILE s3://navlake-raw/\` or stop it first`
      : '; wait for it to finish or pick another --lake';
  return new CliError(`navlake ${holder.command} (pid ${holder.pid}) is running on ${lakeDir}${where}${hint}`, 2);
}

/** Writes `holder` to a temporary file, then links it into place (`exclusive`) or renames it over the lock. */
async function writeLock(file: string, holder: LakeHolder, exclusive: boolean): Promise<void> {
  const tmp = `${file}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, `${JSON.stringify(holder)}\n`);
    if (exclusive) await link(tmp, file);
    else await rename(tmp, file);
  } finally {
    await rm(tmp, { force: true }).catch(() => undefined);
  }
}

/** Temporary lock files of processes that were killed while writing one. */
async function removeStaleTemps(lakeDir: string): Promise<void> {
  for (const name of await readdir(lakeDir)) {
    const pid = TEMP.exec(name)?.[1];
    if (pid !== undefined && Number(pid) !== process.pid && !alive(Number(pid))) await rm(join(lakeDir, name), { force: true });
  }
}

export async function acquireLake(lakeDir: string, command: LakeHolder['command']): Promise<LakeLock> {
  await mkdir(lakeDir, { recursive: true });
  const file = join(lakeDir, FILE);
  const mine: LakeHolder = { pid: process.pid, command };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await writeLock(file, mine, true);
      await removeStaleTemps(lakeDir);
      return {
        announce: (endpoint) => writeLock(file, { ...mine, endpoint }, false),
        release: () => rm(file, { force: true }),
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const judged = await stat(file).catch(() => null);
      const holder = await lakeHolder(lakeDir);
      if (holder) throw busy(lakeDir, holder);
      // Left by a process that no longer runs, or unreadable: removed unless another process replaced it meanwhile.
      const now = await stat(file).catch(() => null);
      if (judged && now && now.ino === judged.ino) await rm(file, { force: true });
    }
  }
  throw new CliError(`could not lock ${lakeDir}: another navlake process keeps taking it`, 2);
}
