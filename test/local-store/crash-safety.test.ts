// The embedded S3 store's files against kills and full disks: nothing is written in place, and what an older build or
// a kill left behind (empty or cut metadata and ETag files, temporary files) neither stops the server nor breaks a read.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { link, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { S3Event } from 'aws-lambda';
import { describe, expect, it, onTestFinished } from 'vitest';
import { startLocalS3 } from '../../cli/local-s3.ts';
import { LOCAL_LAKE_BUCKET, LOCAL_RAW_BUCKET } from '../../lambdas/lake/layout.ts';
import { startTestS3 } from '../helpers/local-s3.ts';
import { isWholeBody, LOOP_BUCKETS, LOOP_KEYS } from './put-loop.ts';

const md5 = (body: string): string => createHash('md5').update(body).digest('hex');
const BUCKETS = [LOCAL_RAW_BUCKET, LOCAL_LAKE_BUCKET];

/** Where s3rver keeps an object's files. */
function files(lakeDir: string, bucket: string, key: string) {
  const object = path.join(lakeDir, 's3', bucket, `${key}._S3rver_object`);
  return { object, md5: `${object}.md5`, metadata: path.join(lakeDir, 's3', bucket, `${key}._S3rver_metadata.json`) };
}

async function put(client: S3Client, bucket: string, key: string, body: string, contentType = 'text/plain'): Promise<void> {
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType }));
}

/** HEAD, GET and the listing agree with the bytes: the ETag is the MD5 of the body GET returns. */
async function readBack(client: S3Client, bucket: string, key: string): Promise<{ body: string; eTag: string; listed: string }> {
  const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const body = (await got.Body?.transformToString()) ?? '';
  const list = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: key }));
  const listed = list.Contents?.find((o) => o.Key === key)?.ETag ?? '';
  expect(head.ETag, `${bucket}/${key}`).toBe(`"${md5(body)}"`);
  expect(got.ETag, `${bucket}/${key}`).toBe(`"${md5(body)}"`);
  expect(listed, `${bucket}/${key}`).toBe(`"${md5(body)}"`);
  return { body, eTag: md5(body), listed };
}

/** What a kill or a full disk leaves of files that were being written in place, and of temporary files. */
const DAMAGE: Record<string, (f: ReturnType<typeof files>) => Promise<void>> = {
  'empty metadata.txt': (f) => writeFile(f.metadata, ''),
  'cut metadata.txt': (f) => writeFile(f.metadata, '{\n  "content-type": "text/pl'),
  'empty etag.txt': (f) => writeFile(f.md5, ''),
  'cut etag.txt': async (f) => writeFile(f.md5, (await readFile(f.md5, 'utf8')).slice(0, 11)),
};

describe('the local store after a kill', () => {
  it('starts, lists, HEADs and GETs objects whose metadata or ETag file a kill left empty or cut, in both buckets', async () => {
    const first = await startTestS3({ onObjectCreated: async () => undefined });
    for (const bucket of BUCKETS) for (const key of Object.keys(DAMAGE)) await put(first.client, bucket, key, `bytes of ${key}`);
    await first.close();
    for (const bucket of BUCKETS) {
      for (const [key, damage] of Object.entries(DAMAGE)) await damage(files(first.lakeDir, bucket, key));
    }
    // Temporary files of writes the kill interrupted, named as the store names them.
    const leftovers = [
      `${files(first.lakeDir, LOCAL_LAKE_BUCKET, 'empty etag.txt').object}.4242-0badc0de.partial`,
      `${files(first.lakeDir, LOCAL_RAW_BUCKET, 'cut etag.txt').metadata}.4242-0badc0de.tmp`,
      path.join(first.lakeDir, 'pending', '0123456789ABCDEF.json.4242-0badc0de.tmp'),
    ];
    for (const file of leftovers) await writeFile(file, 'half');

    const replayed: S3Event[] = [];
    const s3 = await first.restart({ onObjectCreated: async (e) => void replayed.push(e) });
    // Healed at start, before any read: what is left of each metadata file is readable.
    for (const bucket of BUCKETS) {
      for (const key of Object.keys(DAMAGE)) {
        const { metadata } = files(s3.lakeDir, bucket, key);
        if (existsSync(metadata)) expect(() => JSON.parse(readFileSync(metadata, 'utf8')), metadata).not.toThrow();
      }
    }
    for (const bucket of BUCKETS) {
      for (const key of Object.keys(DAMAGE)) {
        expect((await readBack(s3.client, bucket, key)).body).toBe(`bytes of ${key}`);
        // Damaged ETag files are stored again from the bytes.
        expect(await readFile(files(s3.lakeDir, bucket, key).md5, 'utf8')).toBe(md5(`bytes of ${key}`));
      }
    }
    await s3.idle();
    expect(replayed).toEqual([]);
    expect(leftovers.filter((f) => existsSync(f))).toEqual([]);
  });

  it('serves a lake object whose metadata file was emptied while it runs, instead of answering 500 forever', async () => {
    const s3 = await startTestS3();
    await put(s3.client, LOCAL_LAKE_BUCKET, 'observations/x.ndjson.gz', 'rows');
    await writeFile(files(s3.lakeDir, LOCAL_LAKE_BUCKET, 'observations/x.ndjson.gz').metadata, '');
    await writeFile(files(s3.lakeDir, LOCAL_LAKE_BUCKET, 'observations/x.ndjson.gz').md5, '');
    expect((await readBack(s3.client, LOCAL_LAKE_BUCKET, 'observations/x.ndjson.gz')).body).toBe('rows');
    // And the next write replaces it whole.
    await put(s3.client, LOCAL_LAKE_BUCKET, 'observations/x.ndjson.gz', 'new rows', 'application/gzip');
    const head = await s3.client.send(new HeadObjectCommand({ Bucket: LOCAL_LAKE_BUCKET, Key: 'observations/x.ndjson.gz' }));
    expect([head.ETag, head.ContentType]).toEqual([`"${md5('new rows')}"`, 'application/gzip']);
  });

  it('never rewrites a stored file in place: replacing an object leaves the old files whole', async () => {
    const s3 = await startTestS3({ onObjectCreated: async () => undefined });
    for (const bucket of BUCKETS) {
      await put(s3.client, bucket, 'k.txt', 'old bytes', 'text/old');
      // A second name for each file: an in-place write would show through it, a rename does not.
      const f = files(s3.lakeDir, bucket, 'k.txt');
      const before = { object: `${f.object}.before`, md5: `${f.md5}.before`, metadata: `${f.metadata}.before` };
      await s3.client.send(new HeadObjectCommand({ Bucket: bucket, Key: 'k.txt' }));
      for (const which of ['object', 'md5', 'metadata'] as const) await link(f[which], before[which]);
      await put(s3.client, bucket, 'k.txt', 'new bytes', 'text/new');
      await s3.idle();
      expect(await readFile(before.object, 'utf8')).toBe('old bytes');
      expect(await readFile(before.md5, 'utf8')).toBe(md5('old bytes'));
      expect(JSON.parse(await readFile(before.metadata, 'utf8'))).toMatchObject({ 'content-type': 'text/old' });
      const head = await s3.client.send(new HeadObjectCommand({ Bucket: bucket, Key: 'k.txt' }));
      expect([head.ETag, head.ContentType]).toEqual([`"${md5('new bytes')}"`, 'text/new']);
    }
  });

  it('keeps every object whole and its ETag true when killed with SIGKILL at random moments while overwriting', async () => {
    const lakeDir = await mkdtemp(path.join(tmpdir(), 'navlake-kills-'));
    onTestFinished(() => rm(lakeDir, { recursive: true, force: true }));
    const kills = 8;
    const replayedVersions: string[] = [];
    const problems: string[] = [];
    for (let k = 0; k < kills; k++) {
      // A fresh server overwrites the keys in both buckets in a loop until it is killed mid-write.
      await runUntilKilled(lakeDir, (k + 1) * 100_000, 30 + Math.floor(Math.random() * 250));
      let serving!: (client: S3Client) => void;
      const client = new Promise<S3Client>((resolve) => (serving = resolve));
      const s3 = await startLocalS3({
        lakeDir,
        port: 0,
        silent: true,
        // Every upload the killed server stored and recorded but did not finish is replayed, with its own bytes.
        onObjectCreated: async (event) => {
          const { key, versionId, eTag } = event.Records[0]!.s3.object;
          const decoded = decodeURIComponent(key.replace(/\+/g, ' '));
          const got = await (await client).send(new GetObjectCommand({ Bucket: LOCAL_RAW_BUCKET, Key: decoded, VersionId: versionId }));
          const body = (await got.Body?.transformToString()) ?? '';
          if (md5(body) !== eTag || !isWholeBody(decoded, body)) problems.push(`replay of ${decoded} ${versionId}: wrong bytes`);
          replayedVersions.push(versionId ?? '');
        },
      }).catch((e: unknown) => {
        throw new Error(`the server did not start after kill ${k + 1}: ${String(e)}`);
      });
      serving(s3.client);
      try {
        for (const bucket of LOOP_BUCKETS) {
          for (const key of LOOP_KEYS) {
            const { body } = await readBack(s3.client, bucket, key).catch((e: unknown) => {
              throw new Error(`${bucket}/${key} after kill ${k + 1}: ${String(e)}`);
            });
            expect(isWholeBody(key, body), `${bucket}/${key} after kill ${k + 1}`).toBe(true);
          }
        }
        await s3.idle();
      } finally {
        await s3.close();
      }
      expect(await readdir(path.join(lakeDir, 'pending'))).toEqual([]);
      expect((await readdir(path.join(lakeDir, 'versions'))).filter((f) => !f.startsWith('.'))).toEqual([]);
    }
    expect(problems).toEqual([]);
    // The kills did land between storing uploads and finishing them, and each such upload came back once.
    expect(replayedVersions.length).toBeGreaterThan(0);
    expect(new Set(replayedVersions).size).toBe(replayedVersions.length);
  }, 120_000);
});

/** Runs put-loop.ts on the lake and SIGKILLs it `afterMs` after it started serving. */
async function runUntilKilled(lakeDir: string, first: number, afterMs: number): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'put-loop.ts'), lakeDir, String(first)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  onTestFinished(() => void child.kill('SIGKILL'));
  const exited = new Promise((resolve) => child.on('exit', resolve));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
    child.on('exit', (code) => reject(new Error(`put-loop exited with ${code} before serving`)));
  });
  await new Promise((r) => setTimeout(r, afterMs));
  child.kill('SIGKILL');
  await exited;
}
