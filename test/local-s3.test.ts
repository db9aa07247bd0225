// The local S3 against a real s3rver and the real SDK: S3-exact notification events for the raw bucket only,
// delivery that survives restarts exactly once, and keys that cannot write outside the storage directory.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCorsCommand,
  GetBucketCorsCommand,
  GetObjectCommand,
  PutBucketCorsCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { S3Event, S3EventRecord } from 'aws-lambda';
import { describe, expect, it, onTestFinished, vi, type MockInstance } from 'vitest';
import { s3EventKeyEncode } from '../cli/local-s3.ts';
import { LOCAL_LAKE_BUCKET, LOCAL_RAW_BUCKET } from '../lambdas/lake/layout.ts';
import { startTestS3 } from './helpers/local-s3.ts';

const md5 = (body: string): string => createHash('md5').update(body).digest('hex');

async function put(client: S3Client, key: string, body: string, bucket = LOCAL_RAW_BUCKET): Promise<string | undefined> {
  return (await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }))).ETag;
}

function recorder(): { events: S3Event[]; onObjectCreated: (event: S3Event) => Promise<void> } {
  const events: S3Event[] = [];
  return { events, onObjectCreated: async (event) => void events.push(event) };
}

function only(events: S3Event[]): S3EventRecord[] {
  return events.map((e) => {
    expect(e.Records).toHaveLength(1);
    return e.Records[0]!;
  });
}

/** Hides the expected error logs of failing callbacks and lets the test look at them. */
function quietErrors(): MockInstance<typeof console.error> {
  const spy = vi.spyOn(console, 'error').mockImplementation(() => {});
  onTestFinished(() => spy.mockRestore());
  return spy;
}

const seq = (s: string): bigint => BigInt(`0x${s}`);

/** One HTTP request exactly as written (fetch would normalise `..` away). s3rver accepts unsigned requests. */
function raw(
  port: number,
  method: string,
  urlPath: string,
  headers: Record<string, string> = {},
  body = '',
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method, path: urlPath, headers: { 'content-length': Buffer.byteLength(body), ...headers } },
      (res) => {
        let text = '';
        res
          .setEncoding('utf8')
          .on('data', (c: string) => (text += c))
          .on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject).end(body);
  });
}

function connect(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port }, () => {
      socket.destroy();
      resolve();
    });
    socket.on('error', reject);
  });
}

/** Every file under dir, relative to it. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}

describe('s3EventKeyEncode', () => {
  it.each([
    ['a b+c/æøå%.txt', 'a+b%2Bc/%C3%A6%C3%B8%C3%A5%25.txt'],
    ['red flower.jpg', 'red+flower.jpg'],
    ["raw/year=2024/x(1)~!'*.csv", 'raw/year%3D2024/x%281%29%7E%21%27*.csv'],
    ['test/10:47:07.log', 'test/10%3A47%3A07.log'],
    ['ctl\u0001\n', 'ctl%01%0A'],
    ['A-Z_a.z0-9', 'A-Z_a.z0-9'],
  ])('%j -> %s', (key, encoded) => {
    expect(s3EventKeyEncode(key)).toBe(encoded);
    expect(decodeURIComponent(encoded.replace(/\+/g, ' '))).toBe(key);
  });
});

describe('local S3 notifications', () => {
  it('sends the event real S3 sends for a PUT, with the key form-encoded', async () => {
    const { events, onObjectCreated } = recorder();
    const s3 = await startTestS3({ onObjectCreated });
    const key = 'a b+c/æøå%.txt';
    const response = await s3.client.send(new PutObjectCommand({ Bucket: LOCAL_RAW_BUCKET, Key: key, Body: 'hello' }));
    await s3.idle();

    const [record] = only(events);
    expect(record).toEqual({
      eventVersion: '2.1',
      eventSource: 'aws:s3',
      awsRegion: 'us-east-1',
      eventTime: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      eventName: 'ObjectCreated:Put',
      userIdentity: { principalId: expect.any(String) },
      requestParameters: { sourceIPAddress: expect.stringMatching(/127\.0\.0\.1$/) },
      responseElements: { 'x-amz-request-id': expect.any(String), 'x-amz-id-2': expect.any(String) },
      s3: {
        s3SchemaVersion: '1.0',
        configurationId: expect.any(String),
        bucket: { name: LOCAL_RAW_BUCKET, ownerIdentity: { principalId: expect.any(String) }, arn: `arn:aws:s3:::${LOCAL_RAW_BUCKET}` },
        object: {
          key: 'a+b%2Bc/%C3%A6%C3%B8%C3%A5%25.txt',
          size: 5,
          eTag: md5('hello'),
          versionId: response.VersionId,
          sequencer: expect.stringMatching(/^[0-9A-F]+$/),
        },
      },
    });
    // As from a versioned bucket: the PUT answers with the version id the event carries.
    expect(response.VersionId).toMatch(/^[0-9A-F]{16}$/);
    expect(response.ETag).toBe(`"${md5('hello')}"`);
    expect(Math.abs(Date.parse(record!.eventTime) - Date.now())).toBeLessThan(60_000);
    // The decoded key reads the object back.
    const decoded = decodeURIComponent(record!.s3.object.key.replace(/\+/g, ' '));
    const got = await s3.client.send(new GetObjectCommand({ Bucket: LOCAL_RAW_BUCKET, Key: decoded }));
    expect(await got.Body?.transformToString()).toBe('hello');
  });

  it('names copies and multipart uploads as S3 does, and sequencers grow with upload order', async () => {
    const { events, onObjectCreated } = recorder();
    const s3 = await startTestS3({ onObjectCreated });
    await put(s3.client, 'one.txt', 'first');
    await s3.client.send(
      new CopyObjectCommand({ Bucket: LOCAL_RAW_BUCKET, Key: 'copy of one.txt', CopySource: `${LOCAL_RAW_BUCKET}/one.txt` }),
    );
    const { UploadId } = await s3.client.send(new CreateMultipartUploadCommand({ Bucket: LOCAL_RAW_BUCKET, Key: 'multi.txt' }));
    const part = await s3.client.send(
      new UploadPartCommand({ Bucket: LOCAL_RAW_BUCKET, Key: 'multi.txt', UploadId, PartNumber: 1, Body: 'parts' }),
    );
    await s3.client.send(
      new CompleteMultipartUploadCommand({
        Bucket: LOCAL_RAW_BUCKET,
        Key: 'multi.txt',
        UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
      }),
    );
    for (let i = 0; i < 5; i++) await put(s3.client, `burst/${i}.txt`, `burst ${i}`);
    await s3.idle();

    const records = only(events);
    expect(records.slice(0, 3).map((r) => [r.eventName, r.s3.object.key, r.s3.object.size, r.s3.object.eTag])).toEqual([
      ['ObjectCreated:Put', 'one.txt', 5, md5('first')],
      ['ObjectCreated:Copy', 'copy+of+one.txt', 5, md5('first')],
      ['ObjectCreated:CompleteMultipartUpload', 'multi.txt', 5, md5('parts')],
    ]);
    const sequencers = records.map((r) => seq(r.s3.object.sequencer));
    expect(sequencers).toEqual([...sequencers].sort((a, b) => (a < b ? -1 : 1)));
    expect(new Set(sequencers).size).toBe(records.length);
  });

  it('does not trigger on lake-bucket writes', async () => {
    const { events, onObjectCreated } = recorder();
    const s3 = await startTestS3({ onObjectCreated });
    await put(s3.client, 'observations/year=2024/month=01/x.ndjson.gz', 'lake', LOCAL_LAKE_BUCKET);
    await s3.client.send(
      new CopyObjectCommand({
        Bucket: LOCAL_LAKE_BUCKET,
        Key: 'copy',
        CopySource: `${LOCAL_LAKE_BUCKET}/observations/year=2024/month=01/x.ndjson.gz`,
      }),
    );
    await s3.idle();
    expect(events).toEqual([]);
    expect(await readdir(path.join(s3.lakeDir, 'pending'))).toEqual([]);
    expect(await readdir(path.join(s3.lakeDir, 'processed'))).toEqual([]);
  });

  it('keeps serving when a callback throws, and logs the failure', async () => {
    const errors = quietErrors();
    const s3 = await startTestS3({
      onObjectCreated: async () => {
        throw new Error('boom');
      },
    });
    await put(s3.client, 'bad.txt', 'x');
    await s3.idle();
    await put(s3.client, 'after.txt', 'still here');
    await s3.idle();
    const got = await s3.client.send(new GetObjectCommand({ Bucket: LOCAL_RAW_BUCKET, Key: 'after.txt' }));
    expect(await got.Body?.transformToString()).toBe('still here');
    expect(errors.mock.calls.map((c) => String(c[0]))).toEqual([
      expect.stringContaining('s3://navlake-raw/bad.txt failed'),
      expect.stringContaining('s3://navlake-raw/after.txt failed'),
    ]);
  });
});

describe('local S3 restarts', () => {
  it('writes the pending marker before the callback and a processed marker after it', async () => {
    let pendingDuringCallback: string[] = [];
    let s3Dir = '';
    const s3 = await startTestS3({
      onObjectCreated: async () => {
        pendingDuringCallback = await readdir(path.join(s3Dir, 'pending'));
      },
    });
    s3Dir = s3.lakeDir;
    await put(s3.client, 'k.txt', 'v');
    await s3.idle();
    expect(pendingDuringCallback).toEqual([expect.stringMatching(/^[0-9A-F]{16}\.json$/)]);
    expect(await readdir(path.join(s3.lakeDir, 'pending'))).toEqual([]);
    // Both named by the upload's version id, which is its sequencer.
    expect(await readdir(path.join(s3.lakeDir, 'processed'))).toEqual(pendingDuringCallback);
  });

  it('replays an upload whose callback failed exactly once, with the identical event', async () => {
    quietErrors();
    const failed: S3Event[] = [];
    const s3 = await startTestS3({
      onObjectCreated: async (event) => {
        failed.push(event);
        throw new Error('lambda crashed');
      },
    });
    await put(s3.client, 'år 2024/nav+tall.txt', 'data');
    await s3.client.send(
      new CopyObjectCommand({
        Bucket: LOCAL_RAW_BUCKET,
        Key: 'kopi.txt',
        CopySource: `${LOCAL_RAW_BUCKET}/${encodeURI('år 2024/nav+tall.txt')}`,
      }),
    );
    await s3.idle();
    expect(only(failed).map((r) => [r.eventName, r.s3.object.key])).toEqual([
      ['ObjectCreated:Put', '%C3%A5r+2024/nav%2Btall.txt'],
      ['ObjectCreated:Copy', 'kopi.txt'],
    ]);

    const second = recorder();
    const s3b = await s3.restart({ onObjectCreated: second.onObjectCreated });
    await s3b.idle();
    expect(second.events).toEqual(failed);
    expect(await readdir(path.join(s3b.lakeDir, 'pending'))).toEqual([]);

    // Later uploads still sort after the replayed one.
    await put(s3b.client, 'later.txt', 'later');
    await s3b.idle();
    const sequencers = only(second.events).map((r) => seq(r.s3.object.sequencer));
    expect(sequencers).toHaveLength(3);
    expect(sequencers[2]).toBeGreaterThan(sequencers[1]!);
    expect(sequencers[1]).toBeGreaterThan(sequencers[0]!);

    const third = recorder();
    const s3c = await s3b.restart({ onObjectCreated: third.onObjectCreated });
    await s3c.idle();
    expect(third.events).toEqual([]);
  });

  it('replays a stored object that never got a marker, once', async () => {
    const s3 = await startTestS3(); // no callback: stands in for a process that died right after s3rver stored the object
    await put(s3.client, 'never processed.txt', 'raw bytes');
    const second = recorder();
    const s3b = await s3.restart({ onObjectCreated: second.onObjectCreated });
    await s3b.idle();
    const [record] = only(second.events);
    expect(record).toMatchObject({
      eventVersion: '2.1',
      eventName: 'ObjectCreated:Put',
      s3: { bucket: { name: LOCAL_RAW_BUCKET }, object: { key: 'never+processed.txt', size: 9, eTag: md5('raw bytes') } },
    });
    expect(Number.isNaN(Date.parse(record!.eventTime))).toBe(false);

    const third = recorder();
    const s3c = await s3b.restart({ onObjectCreated: third.onObjectCreated });
    await s3c.idle();
    expect(third.events).toEqual([]);
  });

  it('does not replay when it stopped between recording success and removing the pending marker', async () => {
    let marker: { name: string; body: string } | undefined;
    let dir = '';
    const s3 = await startTestS3({
      onObjectCreated: async () => {
        const [name] = await readdir(path.join(dir, 'pending'));
        marker = { name: name!, body: await readFile(path.join(dir, 'pending', name!), 'utf8') };
      },
    });
    dir = s3.lakeDir;
    await put(s3.client, 'done.txt', 'ok');
    await s3.close();
    await writeFile(path.join(dir, 'pending', marker!.name), marker!.body);

    const again = recorder();
    const s3b = await s3.restart({ onObjectCreated: again.onObjectCreated });
    await s3b.idle();
    expect(again.events).toEqual([]);
    expect(await readdir(path.join(dir, 'pending'))).toEqual([]);
  });

  it('replays every failed upload of a key in upload order, each reading its own bytes by version', async () => {
    quietErrors();
    const s3 = await startTestS3({
      onObjectCreated: async () => {
        throw new Error('down');
      },
    });
    await put(s3.client, 'same.txt', 'v1');
    await put(s3.client, 'same.txt', 'v2');
    await s3.idle();
    expect(await readdir(path.join(s3.lakeDir, 'pending'))).toHaveLength(2);

    const read: string[] = [];
    let started!: (client: S3Client) => void;
    const client = new Promise<S3Client>((resolve) => (started = resolve));
    const s3b = await s3.restart({
      onObjectCreated: async (event) => {
        const { key, versionId } = event.Records[0]!.s3.object;
        const got = await (await client).send(new GetObjectCommand({ Bucket: LOCAL_RAW_BUCKET, Key: key, VersionId: versionId }));
        read.push(`${event.Records[0]!.s3.object.eTag}:${await got.Body?.transformToString()}`);
      },
    });
    started(s3b.client);
    await s3b.idle();
    expect(read).toEqual([`${md5('v1')}:v1`, `${md5('v2')}:v2`]);
    expect(await readdir(path.join(s3b.lakeDir, 'pending'))).toEqual([]);
  });
});

describe('local S3 network and keys', () => {
  it('listens on 127.0.0.1 only, and close() releases the port', async () => {
    const s3 = await startTestS3();
    expect(s3.host).toBe('127.0.0.1');
    expect(s3.endpoint).toBe(`http://127.0.0.1:${s3.port}`);
    await connect('127.0.0.1', s3.port);
    // Linux routes all of 127/8 to loopback: a wildcard bind would answer here.
    await expect(connect('127.0.0.2', s3.port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });

    await s3.close();
    await expect(connect('127.0.0.1', s3.port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    const probe = net.createServer();
    await new Promise<void>((resolve, reject) => probe.once('error', reject).listen(s3.port, '127.0.0.1', resolve));
    await new Promise((resolve) => probe.close(resolve));
  });

  it('rejects keys that would leave the storage directory, however they are spelled', async () => {
    const { events, onObjectCreated } = recorder();
    const s3 = await startTestS3({ onObjectCreated });
    const before = await filesUnder(s3.lakeDir);

    for (const key of ['../../escape.txt', 'x/../../../escape.txt', '../escape.txt', './dot.txt']) {
      await expect(put(s3.client, key, 'nope')).rejects.toMatchObject({ name: 'InvalidArgument', $metadata: { httpStatusCode: 400 } });
    }
    const attempts = [
      raw(s3.port, 'PUT', `/${LOCAL_RAW_BUCKET}/..%2F..%2Fescape.txt`, {}, 'nope'),
      raw(s3.port, 'PUT', `/${LOCAL_RAW_BUCKET}/%2E%2E/%2E%2E/escape.txt`, {}, 'nope'),
      raw(s3.port, 'PUT', `/..%2F..%2Fescape/key.txt`, {}, 'nope'),
      raw(s3.port, 'GET', `/${LOCAL_RAW_BUCKET}/..%2Fs3%2F${LOCAL_RAW_BUCKET}%2Fx`),
      raw(s3.port, 'PUT', `/${LOCAL_RAW_BUCKET}/copied.txt`, { 'x-amz-copy-source': `/${LOCAL_RAW_BUCKET}/../../etc/passwd` }),
      raw(s3.port, 'PUT', `/${LOCAL_RAW_BUCKET}/part.txt?partNumber=1&uploadId=..%2F..%2F..%2Fescape`, {}, 'nope'),
      raw(s3.port, 'PUT', `/${LOCAL_RAW_BUCKET}/part.txt?partNumber=..%2F..%2Fescape&uploadId=abc`, {}, 'nope'),
    ];
    for (const res of await Promise.all(attempts)) {
      expect(res.status, res.body).toBeGreaterThanOrEqual(400);
      expect(res.status, res.body).toBeLessThan(500);
    }

    await s3.idle();
    expect(events).toEqual([]);
    expect(await filesUnder(s3.lakeDir)).toEqual(before);
    expect(existsSync(path.join(path.dirname(s3.lakeDir), 'escape.txt._S3rver_object'))).toBe(false);
  });

  it('answers over-long keys with KeyTooLongError instead of crashing, and accepts control characters', async () => {
    const { events, onObjectCreated } = recorder();
    const s3 = await startTestS3({ onObjectCreated });
    await expect(put(s3.client, 'x'.repeat(300), 'long')).rejects.toMatchObject({ name: 'KeyTooLongError' });
    // Short enough for the stored names, too long for the temporary ones they are written under.
    await expect(put(s3.client, `dir/${'y'.repeat(220)}`, 'long')).rejects.toMatchObject({ name: 'KeyTooLongError' });
    await expect(put(s3.client, `${'d/'.repeat(600)}k`, 'long')).rejects.toMatchObject({ name: 'KeyTooLongError' });
    await put(s3.client, 'ctl\u0001\n.txt', 'ok');
    await s3.idle();
    expect(only(events).map((r) => r.s3.object.key)).toEqual(['ctl%01%0A.txt']);
  });

  it('applies a bucket CORS configuration from when it is written until it is deleted, though the store remembers it', async () => {
    // Prepare
    const s3 = await startTestS3();
    const preflight = async () => {
      const res = await fetch(`${s3.endpoint}/${LOCAL_LAKE_BUCKET}/x`, {
        method: 'OPTIONS',
        headers: { Origin: 'https://bi.example', 'Access-Control-Request-Method': 'GET' },
      });
      return [res.status, res.headers.get('access-control-allow-origin')];
    };
    const rules = { CORSRules: [{ AllowedOrigins: ['https://bi.example'], AllowedMethods: ['GET' as const] }] };

    // Act
    const before = await preflight();
    const noneRead = s3.client.send(new GetBucketCorsCommand({ Bucket: LOCAL_LAKE_BUCKET }));
    await expect(noneRead).rejects.toMatchObject({ name: 'NoSuchCORSConfiguration' });
    await s3.client.send(new PutBucketCorsCommand({ Bucket: LOCAL_LAKE_BUCKET, CORSConfiguration: rules }));
    const written = await preflight();
    const read = await s3.client.send(new GetBucketCorsCommand({ Bucket: LOCAL_LAKE_BUCKET }));
    await s3.client.send(new DeleteBucketCorsCommand({ Bucket: LOCAL_LAKE_BUCKET }));
    const after = await preflight();

    // Assess
    expect(before).toEqual([403, null]);
    expect(written).toEqual([200, expect.any(String)]);
    expect(read.CORSRules?.map((r) => r.AllowedOrigins)).toEqual([['https://bi.example']]);
    expect(after).toEqual([403, null]);
  });
});

describe('local S3 reads from its own files', () => {
  it('says what a key holds as a GET would, and fails rather than say "nothing" when it cannot tell', async () => {
    // Prepare
    const s3 = await startTestS3();
    await put(s3.client, 'tables/é x.ndjson', 'one\n', LOCAL_LAKE_BUCKET);
    await put(s3.client, 'tables/é x.ndjson', 'two\n', LOCAL_LAKE_BUCKET);
    // Where the bytes of `broken` would be, a directory: the store can tell neither that it holds them nor that it does not.
    await mkdir(path.join(s3.lakeDir, 's3', LOCAL_LAKE_BUCKET, 'broken._S3rver_object'), { recursive: true });

    // Act
    const held = await Promise.all([s3.holds(LOCAL_LAKE_BUCKET, 'tables/é x.ndjson'), s3.holds(LOCAL_LAKE_BUCKET, 'tables/none')]);
    const texts = await Promise.all([s3.storedText(LOCAL_LAKE_BUCKET, 'tables/é x.ndjson'), s3.storedText(LOCAL_LAKE_BUCKET, 'none')]);

    // Assess
    expect(held).toEqual([true, false]);
    expect(texts).toEqual(['two\n', null]);
    await expect(s3.storedText(LOCAL_LAKE_BUCKET, 'broken')).rejects.toMatchObject({ code: 'EISDIR' });
    await expect(s3.holds(LOCAL_LAKE_BUCKET, '../escape')).rejects.toMatchObject({ code: 'InvalidArgument' });
  });
});
