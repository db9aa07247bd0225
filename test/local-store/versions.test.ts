// The raw bucket as a versioned bucket: every stored upload has a version id, the event carries it, and a GET with it
// returns that upload's bytes even after the key was overwritten; a delivery is marked by its version, not its content.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  CopyObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type PutObjectCommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { S3Event } from 'aws-lambda';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { startLocalS3 } from '../../cli/local-s3.ts';
import { LOCAL_LAKE_BUCKET, LOCAL_RAW_BUCKET } from '../../lambdas/lake/layout.ts';
import { startTestS3 } from '../helpers/local-s3.ts';

const md5 = (body: string): string => createHash('md5').update(body).digest('hex');

function put(client: S3Client, key: string, body: string): Promise<PutObjectCommandOutput> {
  return client.send(new PutObjectCommand({ Bucket: LOCAL_RAW_BUCKET, Key: key, Body: body }));
}

async function getVersion(client: S3Client, key: string, versionId: string | undefined): Promise<string> {
  const got = await client.send(new GetObjectCommand({ Bucket: LOCAL_RAW_BUCKET, Key: key, VersionId: versionId }));
  return (await got.Body?.transformToString()) ?? '';
}

function gate(): { open: () => void; wait: Promise<void> } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { open, wait };
}

/** One raw request, unsigned (s3rver accepts that), exactly as written. */
function raw(port: number, method: string, urlPath: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .request({ host: '127.0.0.1', port, method, path: urlPath }, (res) => {
        let body = '';
        res
          .setEncoding('utf8')
          .on('data', (c: string) => (body += c))
          .on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject)
      .end();
  });
}

const record = (e: S3Event) => e.Records[0]!.s3.object;

describe('raw bucket versions', () => {
  it("gives the first event's GetObject the first upload's bytes, though a second upload replaced the key meanwhile", async () => {
    const slow = gate();
    const read = new Map<string | undefined, string>();
    const events: S3Event[] = [];
    let client!: S3Client;
    const s3 = await startTestS3({
      onObjectCreated: async (event) => {
        events.push(event);
        // The first delivery is still waiting when the second upload lands.
        if (events.length === 1) await slow.wait;
        read.set(record(event).versionId, await getVersion(client, 'export.txt', record(event).versionId));
      },
    });
    client = s3.client;
    const x = await put(s3.client, 'export.txt', 'X: the first export');
    const y = await put(s3.client, 'export.txt', 'Y: the correction');
    expect(await getVersion(s3.client, 'export.txt', undefined)).toBe('Y: the correction');
    slow.open();
    await s3.idle();

    expect(events.map((e) => [record(e).versionId, record(e).eTag])).toEqual([
      [x.VersionId, md5('X: the first export')],
      [y.VersionId, md5('Y: the correction')],
    ]);
    expect(x.VersionId).not.toBe(y.VersionId);
    expect(read.get(x.VersionId)).toBe('X: the first export');
    expect(read.get(y.VersionId)).toBe('Y: the correction');
  });

  it('answers HEAD with the version, and refuses unknown, foreign and malformed version ids', async () => {
    const hold = gate();
    const s3 = await startTestS3({ onObjectCreated: () => hold.wait });
    onTestFinished(hold.open);
    const a = await put(s3.client, 'a.txt', 'version of a');
    await put(s3.client, 'a.txt', 'newer a, longer');
    const b = await put(s3.client, 'b.txt', 'version of b');

    const head = await s3.client.send(new HeadObjectCommand({ Bucket: LOCAL_RAW_BUCKET, Key: 'a.txt', VersionId: a.VersionId }));
    expect([head.ETag, head.ContentLength, head.VersionId]).toEqual([`"${md5('version of a')}"`, 12, a.VersionId]);
    // Another key's version, and an id never issued.
    await expect(getVersion(s3.client, 'a.txt', b.VersionId)).rejects.toMatchObject({ name: 'NoSuchVersion' });
    await expect(getVersion(s3.client, 'a.txt', 'FFFFFFFFFFFFFFFF')).rejects.toMatchObject({ name: 'NoSuchVersion' });
    for (const bad of ['..%2F..%2Fpending%2Fx', '..', 'abc', '0123456789abcdef']) {
      const res = await raw(s3.port, 'GET', `/${LOCAL_RAW_BUCKET}/a.txt?versionId=${bad}`);
      expect([res.status, res.body]).toEqual([400, expect.stringContaining('InvalidArgument')]);
    }
    // Writes to a version are not applied to the current object instead.
    expect((await raw(s3.port, 'DELETE', `/${LOCAL_RAW_BUCKET}/a.txt?versionId=${a.VersionId}`)).status).toBe(501);
    expect(await getVersion(s3.client, 'a.txt', undefined)).toBe('newer a, longer');
    hold.open();
  });

  it('gives copies their own version, and removes versions once processed', async () => {
    const versionsSeen: (string | undefined)[] = [];
    let client!: S3Client;
    const s3 = await startTestS3({
      onObjectCreated: async (event) => {
        versionsSeen.push(await getVersion(client, decodeURIComponent(record(event).key), record(event).versionId));
      },
    });
    client = s3.client;
    await put(s3.client, 'one.txt', 'first');
    await s3.client.send(new CopyObjectCommand({ Bucket: LOCAL_RAW_BUCKET, Key: 'two.txt', CopySource: `${LOCAL_RAW_BUCKET}/one.txt` }));
    await put(s3.client, 'one.txt', 'second');
    await s3.idle();
    expect(versionsSeen.sort()).toEqual(['first', 'first', 'second']);
    // Processed versions are not kept: the key's current object is all that remains.
    expect((await readdir(path.join(s3.lakeDir, 'versions'))).filter((f) => !f.startsWith('.'))).toEqual([]);
    expect(await readdir(path.join(s3.lakeDir, 'pending'))).toEqual([]);
    // The lake bucket is not versioned.
    await s3.client.send(new PutObjectCommand({ Bucket: LOCAL_LAKE_BUCKET, Key: 'x', Body: 'lake' }));
    expect((await readdir(path.join(s3.lakeDir, 'versions'))).filter((f) => !f.startsWith('.'))).toEqual([]);
  });
});

describe('delivery markers by version', () => {
  it('replays the second X of X, Y, X when the kill lands while it is processed', async () => {
    const lakeDir = await mkdtemp(path.join(tmpdir(), 'navlake-xyx-'));
    const snapshot = `${lakeDir}-at-kill`;
    onTestFinished(() =>
      Promise.all([rm(lakeDir, { recursive: true, force: true }), rm(snapshot, { recursive: true, force: true })]).then(() => undefined),
    );
    const inProcessing = gate();
    const release = gate();
    let deliveries = 0;
    const s3 = await startLocalS3({
      lakeDir,
      port: 0,
      silent: true,
      onObjectCreated: async () => {
        if (++deliveries === 3) {
          inProcessing.open();
          await release.wait;
        }
      },
    });
    try {
      await put(s3.client, 'tiltak.txt', 'X');
      await s3.idle();
      await put(s3.client, 'tiltak.txt', 'Y (correction)');
      await s3.idle();
      const secondX = await put(s3.client, 'tiltak.txt', 'X');
      await inProcessing.wait;
      // The lake as a SIGKILL now would leave it (hard links kept, as they are on disk).
      await promisify(execFile)('cp', ['-a', lakeDir, snapshot]);

      const replayed: S3Event[] = [];
      let client!: S3Client;
      const bodies: string[] = [];
      const restarted = await startLocalS3({
        lakeDir: snapshot,
        port: 0,
        silent: true,
        onObjectCreated: async (event) => {
          replayed.push(event);
          while (!client) await new Promise((r) => setTimeout(r, 1));
          bodies.push(await getVersion(client, 'tiltak.txt', record(event).versionId));
        },
      });
      client = restarted.client;
      await restarted.idle();
      await restarted.close();
      expect(replayed.map((e) => [record(e).eTag, record(e).versionId])).toEqual([[md5('X'), secondX.VersionId]]);
      expect(bodies).toEqual(['X']);

      // Exactly once: the next start replays nothing.
      const again: S3Event[] = [];
      const third = await startLocalS3({ lakeDir: snapshot, port: 0, silent: true, onObjectCreated: async (e) => void again.push(e) });
      await third.idle();
      await third.close();
      expect(again).toEqual([]);
    } finally {
      release.open();
      await s3.close();
    }
  });

  it('replays every unprocessed upload of a key in upload order, each exactly once', async () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    onTestFinished(() => errors.mockRestore());
    const s3 = await startTestS3({
      onObjectCreated: async () => {
        throw new Error('killed');
      },
    });
    const uploads = [];
    for (const body of ['X', 'Y', 'X', 'Z']) uploads.push(await put(s3.client, 'k.txt', body));
    await s3.idle();

    const seen: string[] = [];
    let client!: S3Client;
    const s3b = await s3.restart({
      onObjectCreated: async (event) => {
        while (!client) await new Promise((r) => setTimeout(r, 1));
        seen.push(`${record(event).versionId}:${await getVersion(client, 'k.txt', record(event).versionId)}`);
      },
    });
    client = s3b.client;
    await s3b.idle();
    expect(seen).toEqual(uploads.map((u, i) => `${u.VersionId}:${['X', 'Y', 'X', 'Z'][i]}`));
    const processed = (await readdir(path.join(s3b.lakeDir, 'processed'))).sort();
    expect(processed).toEqual(uploads.map((u) => `${u.VersionId}.json`).sort());

    const third: S3Event[] = [];
    const s3c = await s3b.restart({ onObjectCreated: async (e) => void third.push(e) });
    await s3c.idle();
    expect(third).toEqual([]);
  });

  it('delivers, once, uploads that a lake from before versions left unprocessed, and not the processed ones', async () => {
    // A lake as the previous build left it: objects, markers named by (bucket, key, ETag), a pending marker.
    const old = await startTestS3();
    const before: [string, string][] = [
      ['done.txt', 'processed before'],
      ['pending.txt', 'failed before'],
      ['unmarked.txt', 'stored, never marked'],
    ];
    for (const [key, body] of before) await put(old.client, key, body);
    await old.close();
    const { lakeDir } = old;
    await rm(path.join(lakeDir, 'versions'), { recursive: true });
    await rm(path.join(lakeDir, 'pending'), { recursive: true });
    await rm(path.join(lakeDir, 'processed'), { recursive: true });
    await mkdir(path.join(lakeDir, 'pending'));
    await mkdir(path.join(lakeDir, 'processed'));
    const legacyName = (key: string, body: string) =>
      `${createHash('sha256')
        .update(`${LOCAL_RAW_BUCKET}\0${key}\0${md5(body)}`)
        .digest('hex')}.json`;
    await writeFile(path.join(lakeDir, 'processed', legacyName('done.txt', 'processed before')), '{}');
    const legacyPending = {
      bucket: LOCAL_RAW_BUCKET,
      key: 'pending.txt',
      size: 13,
      eTag: md5('failed before'),
      eventTime: '2024-01-02T03:04:05.000Z',
      eventName: 'ObjectCreated:Put',
      sequencer: '0000018CC0FFEE00',
      sourceIPAddress: '127.0.0.1',
    };
    await writeFile(path.join(lakeDir, 'pending', '0000018CC0FFEE00.json'), JSON.stringify(legacyPending));

    const seen: string[] = [];
    let client!: S3Client;
    const s3 = await old.restart({
      onObjectCreated: async (event) => {
        while (!client) await new Promise((r) => setTimeout(r, 1));
        const { key, versionId } = record(event);
        seen.push(`${key}:${await getVersion(client, key, versionId)}`);
      },
    });
    client = s3.client;
    await s3.idle();
    expect(seen).toEqual(['pending.txt:failed before', 'unmarked.txt:stored, never marked']);

    const again: S3Event[] = [];
    const s3b = await s3.restart({ onObjectCreated: async (e) => void again.push(e) });
    await s3b.idle();
    expect(again).toEqual([]);
    expect(await readFile(path.join(lakeDir, 'versions', '.legacy-adopted'), 'utf8')).toMatch(/^\d{4}-/);
  });
});
