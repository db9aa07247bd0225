// A real local S3 (s3rver) on a free port in a fresh temp dir, for tests that need one:
//   const s3 = await startTestS3({ onObjectCreated });   // inside a test: closed and removed when the test finishes
// In beforeAll, pass { cleanup: 'manual' } and call s3.cleanup() in afterAll.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { onTestFinished } from 'vitest';
import { startLocalS3, type LocalS3, type LocalS3Options } from '../../cli/local-s3.ts';

export type TestS3Options = Partial<Omit<LocalS3Options, 'lakeDir'>> & { cleanup?: 'test' | 'manual' };

export interface TestS3 extends LocalS3 {
  lakeDir: string;
  /** Closes this server and starts another on the same lake directory (on a new free port unless one is given). */
  restart(options?: Partial<Omit<LocalS3Options, 'lakeDir'>>): Promise<TestS3>;
  /** Closes whichever server of this lake directory is running and removes the directory. Idempotent. */
  cleanup(): Promise<void>;
}

export async function startTestS3(options: TestS3Options = {}): Promise<TestS3> {
  const { cleanup: when = 'test', ...serverOptions } = options;
  const lakeDir = await mkdtemp(path.join(tmpdir(), 'navlake-s3-'));
  let current: LocalS3 | undefined;
  let cleaned: Promise<void> | undefined;
  const cleanup = (): Promise<void> =>
    (cleaned ??= (async () => {
      await current?.close();
      await rm(lakeDir, { recursive: true, force: true });
    })());

  const start = async (opts: Partial<Omit<LocalS3Options, 'lakeDir'>>): Promise<TestS3> => {
    await current?.close();
    const s3 = await startLocalS3({ port: 0, silent: true, ...opts, lakeDir });
    current = s3;
    return { ...s3, lakeDir, restart: start, cleanup };
  };

  if (when === 'test') onTestFinished(cleanup);
  try {
    return await start(serverOptions);
  } catch (error) {
    await cleanup();
    throw error;
  }
}
