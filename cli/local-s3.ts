/**
 * The S3 side of the AWS deployment, on one machine: an embedded s3rver holds the raw and lake buckets under
 * `<lakeDir>/s3`, and every object created in the raw bucket is handed to `onObjectCreated` as the S3Event a real
 * bucket notification would deliver to the ingest Lambda.
 *
 * Delivery survives restarts with two kinds of marker, both named by hex digests only, so no key reaches a file name:
 * - `pending/<sequencer>.json` is written before the callback runs and removed after it succeeds; it keeps the event
 *   exactly as first delivered, so a replay is indistinguishable from the original.
 * - `processed/<sha256(bucket, key, eTag)>.json` is written after success.
 * At start, before the server accepts uploads, the raw bucket is compared with the markers: a pending marker whose
 * object is still stored with that eTag and not processed is replayed as is; a stored object with neither marker (the
 * process died between s3rver writing it and the pending marker) is replayed as a fresh 'ObjectCreated:Put'. So an
 * upload that was not processed when the server stopped is processed at the next start, and only once.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash, randomBytes } from 'node:crypto';
import { access, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import path from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import type { S3Event, S3EventRecord } from 'aws-lambda';
import S3rver from 's3rver';
import S3Error from 's3rver/lib/models/error.js';
import { LOCAL_LAKE_BUCKET, LOCAL_RAW_BUCKET } from '../lambdas/lake/layout.ts';

// The SDK warns on every client about Node 20; locally that is noise.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

import { DEFAULT_LOCAL_S3_PORT, LOCAL_CREDENTIALS, LOCAL_REGION } from './local-endpoint.ts';

export { DEFAULT_LOCAL_S3_PORT, LOCAL_CREDENTIALS, LOCAL_REGION };

export interface LocalS3Options {
  lakeDir: string;
  /** Default 4568; 0 picks a free port. */
  port?: number;
  /** Default '127.0.0.1': s3rver accepts unsigned requests, so it must not be reachable from the network. */
  host?: string;
  onObjectCreated?: (event: S3Event) => Promise<void>;
  /** Silences s3rver's request log. Callback failures are always reported. */
  silent?: boolean;
}

export interface LocalS3 {
  endpoint: string;
  port: number;
  host: string;
  client: S3Client;
  close(): Promise<void>;
  /** Resolves once every onObjectCreated callback started so far (and any started meanwhile) has settled. */
  idle(): Promise<void>;
}

export function localS3Client(endpoint: string): S3Client {
  return new S3Client({
    endpoint,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    forcePathStyle: true,
    // With the SDK's default checksums s3rver stores bodies with their aws-chunked framing.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/**
 * A key as S3 notifications carry it: form encoding (Java's URLEncoder: space to '+', everything but `A-Za-z0-9.-_*`
 * percent-encoded as UTF-8) except that '/' stays.
 */
export function s3EventKeyEncode(key: string): string {
  let out = '';
  for (const byte of Buffer.from(key, 'utf8')) {
    const ch = String.fromCharCode(byte);
    if (/[A-Za-z0-9.\-_*/]/.test(ch)) out += ch;
    else if (ch === ' ') out += '+';
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** One raw upload: what a pending marker holds and everything its event is built from. */
interface Upload {
  bucket: string;
  key: string;
  size: number;
  eTag: string;
  eventTime: string;
  eventName: string;
  sequencer: string;
  sourceIPAddress: string;
}

function toS3Event(u: Upload): S3Event {
  const record: S3EventRecord = {
    eventVersion: '2.1',
    eventSource: 'aws:s3',
    awsRegion: LOCAL_REGION,
    eventTime: u.eventTime,
    eventName: u.eventName,
    userIdentity: { principalId: `AWS:${LOCAL_CREDENTIALS.accessKeyId}` },
    requestParameters: { sourceIPAddress: u.sourceIPAddress },
    // Derived from the sequencer so that a replay carries the same ids as the first delivery.
    responseElements: {
      'x-amz-request-id': u.sequencer,
      'x-amz-id-2': createHash('sha256').update(u.sequencer).digest('base64'),
    },
    s3: {
      s3SchemaVersion: '1.0',
      configurationId: 'navlake-local',
      bucket: { name: u.bucket, ownerIdentity: { principalId: LOCAL_CREDENTIALS.accessKeyId }, arn: `arn:aws:s3:::${u.bucket}` },
      object: { key: s3EventKeyEncode(u.key), size: u.size, eTag: u.eTag, sequencer: u.sequencer },
    },
  };
  return { Records: [record] };
}

/**
 * S3 compares sequencers as hex numbers after left-padding. Milliseconds shifted left by 16 bits keep them increasing
 * across restarts; the seed (the newest pending marker) and the +1 keep them increasing within one millisecond.
 */
function sequencerClock(seed: string | undefined): () => string {
  let last = seed === undefined ? 0n : BigInt(`0x${seed}`);
  return () => {
    const now = BigInt(Date.now()) << 16n;
    last = now > last ? now : last + 1n;
    return last.toString(16).toUpperCase().padStart(16, '0');
  };
}

const MAX_KEY_BYTES = 1024;
// s3rver stores a key's last segment as `<segment>._S3rver_metadata.json`; past NAME_MAX its write stream fails with
// ENAMETOOLONG outside any handler and takes the whole process down.
const MAX_SEGMENT_BYTES = 255 - '._S3rver_metadata.json'.length;
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

function checkKey(key: string): void {
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) throw new S3Error('KeyTooLongError', 'Your key is too long');
  for (const segment of key.split('/')) {
    if (segment === '.' || segment === '..' || segment.includes('\0')) {
      throw new S3Error('InvalidArgument', 'This local S3 rejects keys with "." or ".." segments or NUL characters', {
        ArgumentName: 'key',
      });
    }
    if (Buffer.byteLength(segment) > MAX_SEGMENT_BYTES) {
      throw new S3Error('KeyTooLongError', `This local S3 keeps each key segment under ${MAX_SEGMENT_BYTES} bytes`);
    }
  }
}

function checkInside(dir: string, file: string): string {
  const rel = path.relative(dir, file);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) {
    throw new S3Error('InvalidArgument', 'The request resolves outside its bucket');
  }
  return file;
}

/**
 * s3rver joins bucket and key segments straight into file paths (`../../x` lands outside its directory), so every
 * path the store builds is checked where it is built; this covers PUT, POST forms, copy sources, GET and DELETE alike.
 */
function guardStore(store: S3rver.FilesystemStore): void {
  const bucketPath = store.getBucketPath.bind(store);
  const resourcePath = store.getResourcePath.bind(store);
  store.getBucketPath = (bucket) => {
    if (!BUCKET_NAME.test(bucket)) throw new S3Error('InvalidBucketName', 'The specified bucket is not valid.');
    return checkInside(store.rootDirectory, bucketPath(bucket));
  };
  store.getResourcePath = (bucket, key, resource) => {
    const bucketDir = store.getBucketPath(bucket);
    if (key) checkKey(key);
    return checkInside(bucketDir, resourcePath(bucket, key, resource));
  };
}

/**
 * s3rver writes an object in place, so a reader of the lake's files (DuckDB in `navlake query`) could see half of a
 * partition while it is being replaced. Here the bytes go to a temporary name that no lake glob matches and are
 * renamed over the object only once complete.
 */
function writeObjectsAtomically(store: S3rver.FilesystemStore): void {
  store.putObject = async (object) => {
    const objectPath = store.getResourcePath(object.bucket, object.key, 'object');
    await mkdir(path.dirname(objectPath), { recursive: true });
    const tmp = `${objectPath}.${process.pid}-${randomBytes(4).toString('hex')}.partial`;
    const md5 = createHash('md5');
    let size = 0;
    const count = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        md5.update(chunk);
        size += chunk.length;
        callback(null, chunk);
      },
    });
    const source = Buffer.isBuffer(object.content) ? Readable.from([object.content]) : object.content;
    try {
      await pipeline(source, count, createWriteStream(tmp));
      await rename(tmp, objectPath);
    } catch (error) {
      await rm(tmp, { force: true });
      throw error;
    }
    const digest = md5.digest('hex');
    await store.putMetadata(object.bucket, object.key, object.metadata, digest);
    return { size, md5: digest };
  };
}

/** Set per request so the 'event' listener can tell a completed multipart upload from a form POST. */
const requestInfo = new AsyncLocalStorage<{ completesMultipart: boolean }>();

/** Multipart upload ids and part numbers also become path segments in s3rver, outside getResourcePath. */
const guardRequest: S3rver.Middleware = async (ctx, next) => {
  const { uploadId, partNumber } = ctx.query;
  if (uploadId !== undefined && (typeof uploadId !== 'string' || !/^[0-9A-Za-z]+$/.test(uploadId))) {
    throw new S3Error('NoSuchUpload', 'The specified upload does not exist.', { UploadId: String(uploadId) });
  }
  if (partNumber !== undefined && (typeof partNumber !== 'string' || !/^[0-9]{1,5}$/.test(partNumber))) {
    throw new S3Error('InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive', {
      ArgumentName: 'partNumber',
    });
  }
  await requestInfo.run({ completesMultipart: ctx.method === 'POST' && uploadId !== undefined }, next);
};

const PENDING_FILE = /^[0-9A-F]{16,32}\.json$/;

function isUpload(x: unknown): x is Upload {
  if (typeof x !== 'object' || x === null) return false;
  const u = x as Record<string, unknown>;
  return (
    ['bucket', 'key', 'eTag', 'eventTime', 'eventName', 'sequencer', 'sourceIPAddress'].every((k) => typeof u[k] === 'string') &&
    typeof u.size === 'number'
  );
}

async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  const tmp = `${file}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, `${JSON.stringify(value, null, 2)}\n`);
  await rename(tmp, file);
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

/** Pending markers left by earlier runs, oldest upload first. */
async function readPending(dir: string): Promise<{ file: string; upload: Upload }[]> {
  const found: { file: string; upload: Upload }[] = [];
  for (const name of await readdir(dir)) {
    if (!PENDING_FILE.test(name)) continue;
    const file = path.join(dir, name);
    let upload: unknown = null;
    try {
      upload = JSON.parse(await readFile(file, 'utf8'));
    } catch {
      // A marker cut short by a crash: warned about below, and the raw object is still replayed as unprocessed.
    }
    if (isUpload(upload) && `${upload.sequencer}.json` === name) found.push({ file, upload });
    else console.warn(`navlake local S3: ignoring malformed pending marker ${file}`);
  }
  return found.sort((a, b) => (BigInt(`0x${a.upload.sequencer}`) < BigInt(`0x${b.upload.sequencer}`) ? -1 : 1));
}

export async function startLocalS3(options: LocalS3Options): Promise<LocalS3> {
  const { lakeDir, port = DEFAULT_LOCAL_S3_PORT, host = '127.0.0.1', onObjectCreated, silent = false } = options;
  const storageDir = path.join(lakeDir, 's3');
  const pendingDir = path.join(lakeDir, 'pending');
  const processedDir = path.join(lakeDir, 'processed');
  await Promise.all([storageDir, pendingDir, processedDir].map((dir) => mkdir(dir, { recursive: true })));

  const server = new S3rver({ address: host, port, directory: storageDir, silent, vhostBuckets: false });
  guardStore(server.store);
  writeObjectsAtomically(server.store);
  server.middleware.unshift(guardRequest);
  await Promise.all([LOCAL_RAW_BUCKET, LOCAL_LAKE_BUCKET].map((bucket) => server.store.putBucket(bucket)));

  const pending = await readPending(pendingDir);
  const nextSequencer = sequencerClock(pending.at(-1)?.upload.sequencer);
  const processedFile = (u: Pick<Upload, 'bucket' | 'key' | 'eTag'>): string =>
    path.join(processedDir, `${createHash('sha256').update(`${u.bucket}\0${u.key}\0${u.eTag}`).digest('hex')}.json`);

  const inflight = new Set<Promise<void>>();
  const track = (work: () => Promise<void>): void => {
    const p: Promise<void> = work()
      .catch((error: unknown) => console.error('navlake local S3: delivering an upload failed', error))
      .finally(() => inflight.delete(p));
    inflight.add(p);
  };
  const idle = async (): Promise<void> => {
    while (inflight.size > 0) await Promise.all(inflight);
  };

  const deliver = async (u: Upload, callback: (event: S3Event) => Promise<void>): Promise<void> => {
    const pendingFile = path.join(pendingDir, `${u.sequencer}.json`);
    await writeJsonAtomic(pendingFile, u);
    try {
      await callback(toS3Event(u));
    } catch (error) {
      console.error(`navlake local S3: processing s3://${u.bucket}/${u.key} failed; it is retried at the next start`, error);
      return;
    }
    await writeJsonAtomic(processedFile(u), { ...u, processedAt: new Date().toISOString() });
    await rm(pendingFile, { force: true });
  };

  // Planned before the server listens, so an upload arriving meanwhile is delivered live and never also replayed.
  const replays: Upload[] = [];
  if (onObjectCreated) {
    const stored = new Map<string, { eTag: string; size: number; lastModified: Date }>();
    for (const o of (await server.store.listObjects(LOCAL_RAW_BUCKET, {})).objects) {
      stored.set(o.key, { eTag: JSON.parse(o.metadata.etag) as string, size: o.size, lastModified: o.lastModifiedDate });
    }
    const covered = new Set<string>();
    for (const { file, upload } of pending) {
      const current = stored.get(upload.key);
      const done = processedFile(upload);
      // A marker whose object was since deleted or overwritten is dropped: the newer version has its own delivery.
      if (upload.bucket !== LOCAL_RAW_BUCKET || current?.eTag !== upload.eTag || covered.has(done) || (await exists(done))) {
        await rm(file, { force: true });
        continue;
      }
      covered.add(done);
      replays.push(upload);
    }
    for (const [key, { eTag, size, lastModified }] of stored) {
      const done = processedFile({ bucket: LOCAL_RAW_BUCKET, key, eTag });
      if (covered.has(done) || (await exists(done))) continue;
      replays.push({
        bucket: LOCAL_RAW_BUCKET,
        key,
        size,
        eTag,
        eventTime: lastModified.toISOString(),
        eventName: 'ObjectCreated:Put',
        sequencer: nextSequencer(),
        sourceIPAddress: '127.0.0.1',
      });
    }

    server.on('event', (event) => {
      const record = event.Records[0];
      if (!record || record.s3.bucket.name !== LOCAL_RAW_BUCKET || !record.eventName.startsWith('ObjectCreated:')) return;
      const eventName =
        record.eventName === 'ObjectCreated:Post' && requestInfo.getStore()?.completesMultipart
          ? 'ObjectCreated:CompleteMultipartUpload'
          : record.eventName;
      // Taken now, not after the awaits below, so sequencers follow the order in which s3rver stored the objects.
      const sequencer = nextSequencer();
      const { key, size, eTag } = record.s3.object;
      track(async () => {
        // s3rver leaves eTag out of Copy events.
        const meta = eTag === undefined ? await server.store.getMetadata(LOCAL_RAW_BUCKET, key) : undefined;
        await deliver(
          {
            bucket: LOCAL_RAW_BUCKET,
            key,
            size: size ?? Number(meta?.['content-length']),
            eTag: eTag ?? (JSON.parse(meta?.etag ?? '""') as string),
            eventTime: record.eventTime,
            eventName,
            sequencer,
            sourceIPAddress: record.requestParameters.sourceIPAddress,
          },
          onObjectCreated,
        );
      });
    });
  }

  const address = await server.run();
  const endpoint = `http://${address.address.includes(':') ? `[${address.address}]` : address.address}:${address.port}`;
  const client = localS3Client(endpoint);
  if (onObjectCreated && replays.length > 0) {
    track(async () => {
      for (const upload of replays) await deliver(upload, onObjectCreated);
    });
  }

  let closing: Promise<void> | undefined;
  return {
    endpoint,
    port: address.port,
    host: address.address,
    client,
    idle,
    // Callbacks usually read the object back, so they get to finish while the server still answers.
    close: () =>
      (closing ??= (async () => {
        await idle();
        client.destroy();
        await server.close();
        await idle();
      })()),
  };
}
