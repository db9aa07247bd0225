// A local lake in a temp dir with the 2019 seed ingested through the real server and handler.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalLake, uploadAndWait } from '../../cli/local-lake.ts';
import type { IngestOutcome } from '../../lambdas/ingest/ingest-upload.ts';

export const SEED_FILE = new URL('../../fixtures/nav-tiltak-fylke-2019.txt', import.meta.url).pathname;

export async function seededLake(): Promise<{ lakeDir: string; outcome: IngestOutcome; cleanup: () => Promise<void> }> {
  const lakeDir = await mkdtemp(join(tmpdir(), 'navlake-lake-'));
  const lake = await startLocalLake({ lakeDir, port: 0 });
  try {
    const outcome = await uploadAndWait(lake, SEED_FILE, 'nav-tiltak-fylke-2019.txt');
    return { lakeDir, outcome, cleanup: () => rm(lakeDir, { recursive: true, force: true }) };
  } finally {
    await lake.close();
  }
}
