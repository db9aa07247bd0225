// Waiting for an upload's outcome never hangs: every failure to record or process a delivery rejects the waiter with a
// message that names the object and the cause. Markers that cannot be written are forced by putting a file where a
// directory should be (tests run as root, for whom permissions stop nothing).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { startLocalLake, uploadAndWait, type LocalLake } from '../../cli/local-lake.ts';
import { LOCAL_RAW_BUCKET } from '../../lambdas/lake/layout.ts';
import { SEED_FILE } from '../helpers/seeded-lake.ts';

const KEY = 'nav-tiltak-fylke-2019.txt';

async function lakeIn(): Promise<{ lakeDir: string; start: () => Promise<LocalLake> }> {
  const lakeDir = await mkdtemp(path.join(tmpdir(), 'navlake-outcomes-'));
  const open: LocalLake[] = [];
  onTestFinished(async () => {
    for (const lake of open) await lake.close();
    await rm(lakeDir, { recursive: true, force: true });
  });
  return {
    lakeDir,
    start: async () => {
      const lake = await startLocalLake({ lakeDir, port: 0 });
      open.push(lake);
      return lake;
    },
  };
}

/** The promise's rejection, or a failure if it neither settles within `ms` nor rejects. */
async function rejectionWithin(promise: Promise<unknown>, ms: number): Promise<Error> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still waiting after ${ms} ms`)), ms);
  });
  try {
    await Promise.race([promise, timeout]);
  } catch (e) {
    if (e instanceof Error && e.message.startsWith('still waiting')) throw e;
    return e as Error;
  } finally {
    clearTimeout(timer);
  }
  throw new Error('resolved, but should have been rejected');
}

function quietErrors(): void {
  const spy = vi.spyOn(console, 'error').mockImplementation(() => undefined);
  onTestFinished(() => spy.mockRestore());
}

describe('upload outcomes when a delivery cannot be recorded or processed', () => {
  it('rejects within seconds, naming the key and the cause, when the pending marker cannot be written', async () => {
    quietErrors();
    const { lakeDir, start } = await lakeIn();
    const lake = await start();
    await rm(path.join(lakeDir, 'pending'), { recursive: true });
    await writeFile(path.join(lakeDir, 'pending'), 'a file where the pending markers go');

    const error = await rejectionWithin(uploadAndWait(lake, SEED_FILE, KEY), 10_000);
    expect(error.message).toContain(`s3://${LOCAL_RAW_BUCKET}/${KEY}`);
    expect(error.message).toMatch(/ENOTDIR|not a directory/);
    // Refused as a whole: an upload that could not be recorded is not stored either.
    await expect(lake.server.client.send(new HeadObjectCommand({ Bucket: LOCAL_RAW_BUCKET, Key: KEY }))).rejects.toMatchObject({
      $metadata: { httpStatusCode: 404 },
    });
  });

  it('rejects when the upload was processed but could not be recorded as such, and processes it at the next start', async () => {
    quietErrors();
    const { lakeDir, start } = await lakeIn();
    const lake = await start();
    await rm(path.join(lakeDir, 'processed'), { recursive: true });
    await writeFile(path.join(lakeDir, 'processed'), 'a file where the processed markers go');

    const error = await rejectionWithin(uploadAndWait(lake, SEED_FILE, KEY), 30_000);
    expect(error.message).toContain(`s3://${LOCAL_RAW_BUCKET}/${KEY}`);
    expect(error.message).toMatch(/could not be recorded.*(ENOTDIR|not a directory)/);
    await lake.close();

    // Once the directory is back, the next start processes the upload again, and that outcome is heard.
    await rm(path.join(lakeDir, 'processed'));
    const restarted = await start();
    const head = await restarted.server.client.send(new HeadObjectCommand({ Bucket: LOCAL_RAW_BUCKET, Key: KEY }));
    const outcome = await restarted.outcomeOf(KEY, head.ETag ?? '');
    expect(outcome).toMatchObject({ status: 'accepted', ingestion: { records_written: 7430 } });
  });

  it('rejects, naming the key, when the ingest handler fails', async () => {
    quietErrors();
    const { lakeDir, start } = await lakeIn();
    const lake = await start();
    // The handler cannot write any month to the lake bucket.
    await writeFile(path.join(lakeDir, 's3', 'navlake-lake', 'observations'), 'a file where a directory goes');

    const error = await rejectionWithin(uploadAndWait(lake, SEED_FILE, KEY), 30_000);
    // The cause is the handler's error (for a HEAD, S3 errors carry no message).
    expect(error.message).toMatch(new RegExp(`^processing s3://${LOCAL_RAW_BUCKET}/${KEY} failed: \\S`));
  });

  it('hears the outcome of each of two uploads of the same bytes to the same key', async () => {
    const { start } = await lakeIn();
    const lake = await start();
    const first = await uploadAndWait(lake, SEED_FILE, KEY);
    const second = await uploadAndWait(lake, SEED_FILE, KEY);
    expect(first.status).toBe('accepted');
    // The second is its own delivery (the same months again: kept, as the lake already holds this vintage).
    expect(second.status).not.toBe('missing');
    expect(second).not.toBe(first);
    if (first.status !== 'missing' && second.status !== 'missing') {
      expect(second.ingestion.ingestion_id).not.toBe(first.ingestion.ingestion_id);
    }
  });
});
