/**
 * `navlake serve` announces itself in `DIR/serve.json`, so that `navlake ingest` does not start a second server and
 * handler on the same files (their per-key locks would not see each other).
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface ServeInfo {
  pid: number;
  endpoint: string;
}

const FILE = 'serve.json';

export async function announceServe(lakeDir: string, info: ServeInfo): Promise<() => Promise<void>> {
  await writeFile(join(lakeDir, FILE), `${JSON.stringify(info)}\n`);
  return () => rm(join(lakeDir, FILE), { force: true });
}

/** The running server of this lake, if any; a file left by a killed server does not count. */
export async function runningServe(lakeDir: string): Promise<ServeInfo | null> {
  let info: ServeInfo;
  try {
    info = JSON.parse(await readFile(join(lakeDir, FILE), 'utf8')) as ServeInfo;
  } catch {
    return null;
  }
  if (info.pid === process.pid) return null;
  try {
    process.kill(info.pid, 0);
    return info;
  } catch {
    return null;
  }
}
