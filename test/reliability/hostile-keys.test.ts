// Keys an attacker or a careless script might choose: none may escape the lake layout or the lake directory.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalLake, type LocalLake } from '../../cli/local-lake.ts';
import { runLocalQuery } from '../../cli/local-query.ts';
import type { RejectionReport } from '../../lambdas/ingest/ingest-upload.ts';
import { LOCAL_RAW_BUCKET, rejectedKey, safeKeyPath } from '../../lambdas/lake/layout.ts';
import type { Ingestion } from '../../lambdas/schema/columns.ts';
import { ingestionRecords, lakeKeys, readLakeJson, s3Event, s3Record, startIngestRig } from '../helpers/events.ts';

/**
 * Odd keys; whether the embedded S3 server stores them (real S3 stores every one), and where the rejection report of
 * an upload under that key belongs, written out by hand: control characters as %XX, a `.` segment as %2E, an empty
 * segment as `_`, everything else as it is.
 */
const ODD_KEYS: Array<{ key: string; local: 'stored' | 'refused'; report: string }> = [
  { key: 'control\u0001\u001fchars.txt', local: 'stored', report: 'rejected/control%01%1fchars.txt.json' },
  {
    key: `${'ø'.repeat(100)}/${'long-name-'.repeat(9)}.txt`,
    local: 'stored',
    report: `rejected/${'ø'.repeat(100)}/${'long-name-'.repeat(9)}.txt.json`,
  },
  {
    key: 'spaces and + plus %25 percent/æøå ÆØÅ.txt',
    local: 'stored',
    report: 'rejected/spaces and + plus %25 percent/æøå ÆØÅ.txt.json',
  },
  // The embedded server refuses `.` and `..` segments outright (InvalidArgument)...
  { key: 'dot/./segment.txt', local: 'refused', report: 'rejected/dot/%2E/segment.txt.json' },
  // ...and cannot route a key with an empty segment (s3rver answers 404 Not Found).
  { key: 'trailing-slash-segment//x.txt', local: 'refused', report: 'rejected/trailing-slash-segment/_/x.txt.json' },
];

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

  it('keeps rejection reports of odd keys inside rejected/ and the lake directory (the embedded server)', async () => {
    for (const { key, local, report } of ODD_KEYS) {
      const r = await put(key, 'not an export\n');
      expect(r.ok ? 'stored' : 'refused', JSON.stringify(key)).toBe(local);
      if (r.ok) {
        const outcome = await lake.outcomeOf(key, r.eTag ?? '');
        expect(outcome.status, key).toBe('rejected');
        expect(await readLakeJson<RejectionReport>(lakeDir, report)).toMatchObject({ code: 'NO_TABLE', source_key: key });
      }
    }
    const files = await walk(root);
    for (const f of files) expect(relative(lakeDir, f).startsWith('..'), f).toBe(false);
    const stored = ODD_KEYS.filter((k) => k.local === 'stored');
    expect(await lakeKeys(lakeDir, 'rejected/')).toEqual(stored.map((k) => k.report).sort());
    const ingestions = await runLocalQuery(lakeDir, "SELECT count(*) AS n FROM ingestions WHERE status = 'rejected'");
    expect(Number(ingestions.rows[0]?.n)).toBe(stored.length);
  });

  it.each(ODD_KEYS)('an upload S3 stored as $key gets its rejection report at $report', async ({ key, report }) => {
    // Prepare: as on AWS, where S3 accepts every one of these keys; the notification names an upload over the size
    // limit, so the handler rejects it before reading it
    const rig = await startIngestRig({ maxUploadBytes: 1000 });
    const upload = {
      bucket: LOCAL_RAW_BUCKET,
      key,
      size: 5000,
      eTag: 'd84b1c170141a8aff4fcefd09e8cba3e',
      sequencer: '0055AED6DCD90281E5',
      eventTime: '2024-03-01T10:00:00.000Z',
    };

    // Act
    const result = await rig.handler(s3Event(s3Record(upload)));

    // Assess
    expect(result.outcomes).toEqual([expect.objectContaining({ status: 'rejected' })]);
    expect(rig.requests.filter((r) => r.input.Bucket === LOCAL_RAW_BUCKET)).toEqual([]);
    expect(await lakeKeys(rig.lakeDir, 'rejected/')).toEqual([report]);
    expect(await readLakeJson<RejectionReport>(rig.lakeDir, report)).toMatchObject({ code: 'TOO_LARGE', source_key: key, file: key });
    expect((await ingestionRecords(rig)).map((i: Ingestion) => [i.source_key, i.status, i.error_code])).toEqual([
      [key, 'rejected', 'TOO_LARGE'],
    ]);
    for (const f of await walk(rig.lakeDir)) expect(relative(rig.lakeDir, f).startsWith('..'), f).toBe(false);
  });

  it('maps any key to a path of safe segments', () => {
    expect(rejectedKey('../../etc/passwd')).toBe('rejected/%2E%2E/%2E%2E/etc/passwd.json');
    expect(safeKeyPath('a/./b\u0000c')).toBe('a/%2E/b%00c');
    expect(safeKeyPath('x'.repeat(500)).length).toBeLessThanOrEqual(200);
  });
});
