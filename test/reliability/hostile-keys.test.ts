// Keys an attacker or a careless script might choose: none may escape the lake layout or the lake directory.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalLake, type LocalLake } from '../../cli/local-lake.ts';
import { runLocalQuery } from '../../cli/local-query.ts';
import { LOCAL_RAW_BUCKET, rejectedKey, safeKeyPath } from '../../lambdas/lake/layout.ts';

let root: string;
let lakeDir: string;
let lake: LocalLake;

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(p)));
    else out.push(p);
  }
  return out;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'navlake-hostile-'));
  lakeDir = join(root, 'lake');
  lake = await startLocalLake({ lakeDir, port: 0 });
});
afterAll(async () => {
  await lake.close();
  await rm(root, { recursive: true, force: true });
});

async function put(key: string, body: string): Promise<{ ok: boolean; eTag?: string }> {
  try {
    const r = await lake.server.client.send(new PutObjectCommand({ Bucket: LOCAL_RAW_BUCKET, Key: key, Body: body }));
    return { ok: true, ...(r.ETag ? { eTag: r.ETag } : {}) };
  } catch {
    return { ok: false };
  }
}

describe('hostile upload keys', () => {
  it('refuses keys with .. segments at the embedded S3 server', async () => {
    for (const key of ['../escape.txt', 'a/../../escape.txt', '../../../../tmp/navlake-escape.txt']) {
      expect((await put(key, 'x')).ok, key).toBe(false);
    }
  });

  it('keeps rejection reports of odd keys inside rejected/ and the lake directory', async () => {
    const keys = [
      'control\u0001\u001fchars.txt',
      `${'ø'.repeat(100)}/${'long-name-'.repeat(9)}.txt`,
      'spaces and + plus %25 percent/æøå ÆØÅ.txt',
      'dot/./segment.txt',
      'trailing-slash-segment//x.txt',
    ];
    for (const key of keys) {
      const r = await put(key, 'not an export\n');
      if (!r.ok) continue;
      const outcome = await lake.outcomeOf(key, r.eTag ?? '');
      expect(outcome.status, key).toBe('rejected');
    }
    const files = await walk(root);
    for (const f of files) expect(relative(lakeDir, f).startsWith('..'), f).toBe(false);
    const rejectedFiles = files.filter((f) => f.includes(`${join('navlake-lake', 'rejected')}`));
    expect(rejectedFiles.length).toBeGreaterThan(0);
    const ingestions = await runLocalQuery(lakeDir, "SELECT count(*) AS n FROM ingestions WHERE status = 'rejected'");
    expect(Number(ingestions.rows[0]?.n)).toBeGreaterThanOrEqual(3);
  });

  it('maps any key to a path of safe segments', () => {
    expect(rejectedKey('../../etc/passwd')).toBe('rejected/%2E%2E/%2E%2E/etc/passwd.json');
    expect(safeKeyPath('a/./b\u0000c')).toBe('a/%2E/b%00c');
    expect(safeKeyPath('x'.repeat(500)).length).toBeLessThanOrEqual(200);
  });
});
