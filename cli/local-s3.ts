/**
 * The S3 side of the AWS deployment, on one machine: an embedded s3rver holds the raw and lake buckets under
 * `<lakeDir>/s3`, and every object created in the raw bucket is handed to `onObjectCreated` as the S3Event a real
 * bucket notification would deliver to the ingest Lambda.
 *
 * Crash safety: no file under `<lakeDir>` is written in place. Bytes, ETags (`.md5`), metadata and markers go to a
 * temporary name and are renamed into place; an ETag file is removed before its object is replaced, so that a kill
 * between the two leaves no stale ETag (s3rver recomputes a missing one). Temporary files of a killed process, and
 * metadata or ETag files that an older build (which wrote them in place) left empty or cut, are removed at start and
 * read as absent meanwhile, never as a 500.
 *
 * The raw bucket behaves as a versioned bucket: every stored upload gets a version id (its sequencer), carried in the
 * event as `s3.object.versionId`, and its bytes stay readable with `GET ?versionId=` under `<lakeDir>/versions/<id>`
 * (a hard link, so free while the upload is the key's current object) until it has been processed, then removed.
 *
 * Delivery survives restarts with markers named by version id only, so no key reaches a file name:
 * - `pending/<id>.json` is written before the object is renamed into place, so every upload the server acknowledged
 *   is recorded; it keeps the event exactly as first delivered, so a replay is indistinguishable from the original.
 * - `processed/<id>.json` is written after the callback succeeded; then the pending marker and the version go.
 * At start, before the server accepts uploads, every pending upload whose version was stored is replayed in upload
 * order, exactly once; a marker whose upload never reached its key (the process died in between) is dropped.
 * Lakes from before versions existed are adopted once: their unprocessed uploads get versions and are replayed.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { access, link, mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { S3Client } from '@aws-sdk/client-s3';
import type { S3Event, S3EventRecord } from 'aws-lambda';
import S3rver from 's3rver';
import S3Error from 's3rver/lib/models/error.js';
import S3Object from 's3rver/lib/models/object.js';
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
  /**
   * Called once per delivery: without an error once its processed marker is written, or with a DeliveryError when
   * processing or recording it failed (the upload is then retried at the next start).
   */
  onDeliverySettled?: (event: S3Event, error?: DeliveryError) => void;
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
  /**
   * Whether an object is stored at `key`, read from the store's files by a caller in this process: an object exists
   * exactly when the file of its bytes does (a GET answers NoSuchKey otherwise).
   */
  holds(bucket: string, key: string): Promise<boolean>;
  /** The object at `key` as UTF-8 text, or null when there is none; its file is replaced by a rename, so whole. */
  storedText(bucket: string, key: string): Promise<string | null>;
}

/** A delivery that failed; the message names the object and the cause. */
export class DeliveryError extends Error {
  override name = 'DeliveryError';
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
  /** Absent only in markers written before versions existed. */
  versionId?: string;
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
      object: {
        key: s3EventKeyEncode(u.key),
        size: u.size,
        eTag: u.eTag,
        ...(u.versionId === undefined ? {} : { versionId: u.versionId }),
        sequencer: u.sequencer,
      },
    },
  };
  return { Records: [record] };
}

/**
 * S3 compares sequencers as hex numbers after left-padding. Milliseconds shifted left by 16 bits keep them increasing
 * across restarts; the seed (the newest id on disk) and the +1 keep them increasing within one millisecond, and
 * unique even if the clock went back, since they double as version ids.
 */
function sequencerClock(seed: bigint): () => string {
  let last = seed;
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
// Writes go through temporary names next to their targets, which are longer still.
const MAX_WRITTEN_SEGMENT_BYTES = 255 - '._S3rver_metadata.json.4294967295-00000000.tmp'.length;
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
/** Version ids are sequencers; nothing else may reach a path under versions/. */
const VERSION_ID = /^[0-9A-F]{16,32}$/;
const ID_FILE = /^([0-9A-F]{16,32})\.json$/;
/** What tempName() makes: the only files the start-up sweep removes. */
const TEMP_FILE = /\.\d+-[0-9a-f]{8}\.(?:partial|tmp)$/;
const MD5_HEX = /^[0-9a-f]{32}$/;
/** Written once the lake's pre-version uploads were adopted (see adoptLegacy). */
const ADOPTED_FLAG = '.legacy-adopted';

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

function checkWritableKey(key: string): void {
  for (const segment of key.split('/')) {
    if (Buffer.byteLength(segment) > MAX_WRITTEN_SEGMENT_BYTES) {
      throw new S3Error('KeyTooLongError', `This local S3 keeps each key segment under ${MAX_WRITTEN_SEGMENT_BYTES} bytes`);
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
/**
 * s3rver reads a bucket's CORS and website configuration from disk for every request, two failed reads each since the
 * lake sets neither: a tenth of the server's time in an ingest. A bucket's configuration changes only through this
 * store, so it is remembered and forgotten once a configuration of the bucket, or the bucket, is written or deleted
 * (after the write, so that a read made meanwhile is not kept either).
 */
function rememberBucketConfigurations(store: S3rver.FilesystemStore): void {
  const getSubresource = store.getSubresource.bind(store);
  const putSubresource = store.putSubresource.bind(store);
  const deleteSubresource = store.deleteSubresource.bind(store);
  const putBucket = store.putBucket.bind(store);
  const deleteBucket = store.deleteBucket.bind(store);
  const remembered = new Map<string, Promise<unknown>>();
  const forget = (bucket: string) => {
    for (const id of remembered.keys()) if (id.startsWith(`${bucket}\0`)) remembered.delete(id);
  };
  const forgettingAfter = async <T>(bucket: string, write: Promise<T>): Promise<T> => {
    try {
      return await write;
    } finally {
      forget(bucket);
    }
  };
  store.getSubresource = (bucket, key, resourceType) => {
    if (key !== undefined) return getSubresource(bucket, key, resourceType);
    const id = `${bucket}\0${resourceType}`;
    let read = remembered.get(id);
    if (!read) {
      read = getSubresource(bucket, key, resourceType);
      remembered.set(id, read);
      read.catch(() => remembered.delete(id));
    }
    return read;
  };
  store.putSubresource = (bucket, key, resource) => forgettingAfter(bucket, putSubresource(bucket, key, resource));
  store.deleteSubresource = (bucket, key, resourceType) => forgettingAfter(bucket, deleteSubresource(bucket, key, resourceType));
  store.putBucket = (bucket) => forgettingAfter(bucket, putBucket(bucket));
  store.deleteBucket = (bucket) => forgettingAfter(bucket, deleteBucket(bucket));
}

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

function tempName(file: string, suffix: 'partial' | 'tmp'): string {
  return `${file}.${process.pid}-${randomBytes(4).toString('hex')}.${suffix}`;
}

async function writeAtomic(file: string, data: string): Promise<void> {
  const tmp = tempName(file, 'tmp');
  try {
    await writeFile(tmp, data);
    await rename(tmp, file);
  } catch (error) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw error;
  }
}

const writeJsonAtomic = (file: string, value: unknown): Promise<void> => writeAtomic(file, `${JSON.stringify(value, null, 2)}\n`);

/** Streams `source` to a temporary file next to `file`, hashing it; the caller renames or removes it. */
async function writeTemp(file: string, source: Buffer | NodeJS.ReadableStream): Promise<{ tmp: string; size: number; md5: string }> {
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = tempName(file, 'partial');
  const md5 = createHash('md5');
  let size = 0;
  const count = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      md5.update(chunk);
      size += chunk.length;
      callback(null, chunk);
    },
  });
  try {
    await pipeline(Buffer.isBuffer(source) ? Readable.from([source]) : source, count, createWriteStream(tmp));
  } catch (error) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw error;
  }
  return { tmp, size, md5: md5.digest('hex') };
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

const errorCode = (e: unknown): string | undefined => (e as NodeJS.ErrnoException | null)?.code;
const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** null for a file that does not exist; any other failure is thrown, never read as "no object" (which would be written over). */
async function ifStored<T>(read: Promise<T>): Promise<T | null> {
  try {
    return await read;
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return null;
    throw error;
  }
}

/** Stored metadata that a kill or a full disk cut short (an older s3rver wrote it in place) counts as none. */
async function readStoredMetadata(file: string): Promise<Record<string, string> | undefined> {
  const text = await ifStored(readFile(file, 'utf8'));
  if (text === null) return undefined;
  try {
    const json: unknown = JSON.parse(text);
    if (typeof json === 'object' && json !== null && !Array.isArray(json)) return json as Record<string, string>;
  } catch {
    // Read as absent below.
  }
  return undefined;
}

/** One operation at a time per id: a commit's steps, a delete and an ETag repair never interleave on one key. */
function keyedMutex(): <T>(id: string, work: () => Promise<T>) => Promise<T> {
  const tails = new Map<string, Promise<void>>();
  return async (id, work) => {
    const before = tails.get(id) ?? Promise.resolve();
    let release!: () => void;
    const tail = before.then(() => new Promise<void>((resolve) => (release = resolve)));
    tails.set(id, tail);
    await before;
    try {
      return await work();
    } finally {
      release();
      if (tails.get(id) === tail) tails.delete(id);
    }
  };
}

/** Set per request: what the event of an object it stores is called, and (raw bucket) the upload it stored. */
interface RequestInfo {
  eventName: string;
  sourceIPAddress: string;
  upload?: Upload;
}
const requestInfo = new AsyncLocalStorage<RequestInfo>();

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
  // s3rver calls a completed multipart upload a 'Post'; S3 does not.
  const eventName =
    ctx.method === 'POST'
      ? uploadId === undefined
        ? 'ObjectCreated:Post'
        : 'ObjectCreated:CompleteMultipartUpload'
      : 'x-amz-copy-source' in ctx.headers
        ? 'ObjectCreated:Copy'
        : 'ObjectCreated:Put';
  const info: RequestInfo = { eventName, sourceIPAddress: ctx.ip };
  try {
    await requestInfo.run(info, next);
  } catch (error) {
    // s3rver answers any other error with a bare "internal error"; locally the cause (a full disk, say) helps more.
    if (error instanceof S3Error || (error as { status?: unknown }).status !== undefined) throw error;
    throw new S3Error('InternalError', `navlake local S3: ${errorText(error)}`);
  }
  if (info.upload?.versionId) ctx.set('x-amz-version-id', info.upload.versionId);
};

interface StoreHooks {
  lock: <T>(id: string, work: () => Promise<T>) => Promise<T>;
  /** Raw bucket: records the upload (its pending marker) before it is renamed into place. */
  record(key: string, size: number, eTag: string): Promise<Upload>;
  /** Raw bucket: keeps the stored upload's bytes as its version. */
  keep(upload: Upload, objectPath: string): Promise<void>;
  /** Raw bucket: forgets an upload that never reached its key. */
  unrecord(upload: Upload): Promise<void>;
}

/**
 * Replaces every store method that writes with one that writes a temporary file and renames it, and orders the
 * steps of replacing an object so that a kill at any point leaves the previous or the new object, each with an ETag
 * that matches its bytes (missing ETags are recomputed on read).
 */
function writeAtomically(store: S3rver.FilesystemStore, hooks: StoreHooks): void {
  const deleteObject = store.deleteObject.bind(store);
  const md5File = (objectPath: string) => `${objectPath}.md5`;

  const metadataJson = (metadata: Record<string, string>): string => {
    const kept: Record<string, string> = {};
    for (const [name, value] of Object.entries(metadata)) {
      if (S3Object.ALLOWED_METADATA.includes(name) || name.startsWith('x-amz-meta-')) kept[name] = value;
    }
    return JSON.stringify(kept, null, 2);
  };

  store.putMetadata = async (bucket, key, metadata, md5) => {
    if (md5) await writeAtomic(store.getResourcePath(bucket, key, 'object.md5'), md5);
    await writeAtomic(store.getResourcePath(bucket, key, 'metadata.json'), metadataJson(metadata));
  };

  /** The ETag of the object as stored, recomputed (and stored again) when its file is missing, empty or corrupt. */
  const readMd5 = async (objectPath: string): Promise<string> => {
    const stored = (await ifStored(readFile(md5File(objectPath), 'utf8'))) ?? '';
    if (MD5_HEX.test(stored)) return stored;
    const handle = await open(objectPath);
    let md5: string;
    let inode: number;
    try {
      inode = (await handle.stat()).ino;
      const hash = createHash('md5');
      for await (const chunk of handle.createReadStream({ autoClose: false })) hash.update(chunk as Buffer);
      md5 = hash.digest('hex');
    } finally {
      await handle.close();
    }
    // Stored only if the object was not replaced meanwhile, or this would pin the old ETag on the new bytes.
    await hooks
      .lock(objectPath, async () => {
        if ((await stat(objectPath)).ino === inode) await writeAtomic(md5File(objectPath), md5);
      })
      .catch(() => undefined);
    return md5;
  };

  store.getMetadata = async (bucket, key) => {
    const objectPath = store.getResourcePath(bucket, key, 'object');
    const stats = await stat(objectPath);
    const [stored, md5] = await Promise.all([readStoredMetadata(store.getResourcePath(bucket, key, 'metadata.json')), readMd5(objectPath)]);
    return { ...stored, etag: JSON.stringify(md5), 'last-modified': stats.mtime.toUTCString(), 'content-length': stats.size };
  };

  const storeObject = async (
    bucket: string,
    key: string,
    content: Buffer | NodeJS.ReadableStream,
    metadata: Record<string, string>,
  ): Promise<{ size: number; md5: string }> => {
    const objectPath = store.getResourcePath(bucket, key, 'object');
    checkWritableKey(key);
    let tmp: string | undefined;
    try {
      const written = await writeTemp(objectPath, content);
      tmp = written.tmp;
      const { size, md5 } = written;
      await hooks.lock(objectPath, async () => {
        const upload = bucket === LOCAL_RAW_BUCKET ? await hooks.record(key, size, md5) : undefined;
        try {
          await rm(md5File(objectPath), { force: true });
          await rename(written.tmp, objectPath);
        } catch (error) {
          if (upload) await hooks.unrecord(upload);
          throw error;
        }
        if (upload) {
          await hooks.keep(upload, objectPath);
          const info = requestInfo.getStore();
          if (info) info.upload = upload;
        }
        await store.putMetadata(bucket, key, metadata, md5);
      });
      return { size, md5 };
    } catch (error) {
      // s3rver would answer a bare "internal error"; a full disk should say so.
      throw error instanceof S3Error ? error : new S3Error('InternalError', `could not store s3://${bucket}/${key}: ${errorText(error)}`);
    } finally {
      if (tmp) await rm(tmp, { force: true }).catch(() => undefined);
    }
  };

  store.putObject = (object) => storeObject(object.bucket, object.key, object.content, object.metadata);

  // Streamed into a new object rather than copied in place; in the raw bucket a copy is a new upload with a version.
  store.copyObject = async (srcBucket, srcKey, destBucket, destKey, replacementMetadata) => {
    const srcPath = store.getResourcePath(srcBucket, srcKey, 'object');
    const metadata = replacementMetadata ?? (await readStoredMetadata(store.getResourcePath(srcBucket, srcKey, 'metadata.json'))) ?? {};
    await storeObject(destBucket, destKey, createReadStream(srcPath), metadata);
    return store.getMetadata(destBucket, destKey);
  };

  store.deleteObject = (bucket, key) => hooks.lock(store.getResourcePath(bucket, key, 'object'), () => deleteObject(bucket, key));

  const uploadDir = (bucket: string, uploadId: string) => path.join(store.getResourcePath(bucket, undefined, 'uploads'), uploadId);

  store.initiateUpload = async (bucket, key, uploadId, metadata) => {
    store.getResourcePath(bucket, key, 'object');
    checkWritableKey(key);
    const dir = uploadDir(bucket, uploadId);
    await mkdir(dir, { recursive: true });
    await Promise.all([writeAtomic(path.join(dir, 'key'), key), writeAtomic(path.join(dir, 'metadata'), JSON.stringify(metadata))]);
  };

  store.putPart = async (bucket, uploadId, partNumber, content) => {
    const partPath = path.join(uploadDir(bucket, uploadId), String(partNumber));
    const { tmp, size, md5 } = await writeTemp(partPath, content);
    try {
      await rename(tmp, partPath);
    } finally {
      await rm(tmp, { force: true }).catch(() => undefined);
    }
    await writeAtomic(`${partPath}.md5`, md5);
    return { size, md5 };
  };

  store.putSubresource = (bucket, key, resource) =>
    writeAtomic(store.getResourcePath(bucket, key, `${resource.type}.xml`), resource.toXML(2));
}

/**
 * What a killed process left: temporary files (only names tempName() makes are touched), and metadata or ETag files
 * that a build writing them in place left cut short, removed as reads already ignore them (ETags are recomputed).
 */
async function healLeftovers(storageDir: string, dirs: string[]): Promise<void> {
  for (const dir of dirs) {
    for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
      if (!entry.isFile()) continue;
      const file = path.join(entry.parentPath, entry.name);
      const cutShort =
        dir === storageDir &&
        ((entry.name.endsWith('._S3rver_metadata.json') && (await readStoredMetadata(file)) === undefined) ||
          (entry.name.endsWith('._S3rver_object.md5') && !MD5_HEX.test(await readFile(file, 'utf8'))));
      if (cutShort || TEMP_FILE.test(entry.name)) await rm(file, { force: true });
    }
  }
}

function isUpload(x: unknown): x is Upload {
  if (typeof x !== 'object' || x === null) return false;
  const u = x as Record<string, unknown>;
  return (
    ['bucket', 'key', 'eTag', 'eventTime', 'eventName', 'sequencer', 'sourceIPAddress'].every((k) => typeof u[k] === 'string') &&
    typeof u.size === 'number' &&
    (u.versionId === undefined || (typeof u.versionId === 'string' && VERSION_ID.test(u.versionId) && u.versionId === u.sequencer))
  );
}

const bySequencer = (a: Upload, b: Upload): number => (BigInt(`0x${a.sequencer}`) < BigInt(`0x${b.sequencer}`) ? -1 : 1);

/** Pending markers left by earlier runs, oldest upload first. */
async function readPending(dir: string): Promise<{ file: string; upload: Upload }[]> {
  const found: { file: string; upload: Upload }[] = [];
  for (const name of await readdir(dir)) {
    if (!ID_FILE.test(name)) continue;
    const file = path.join(dir, name);
    let upload: unknown = null;
    try {
      upload = JSON.parse(await readFile(file, 'utf8'));
    } catch {
      // Only an older build could leave a marker cut short: warned about below.
    }
    if (isUpload(upload) && `${upload.sequencer}.json` === name) found.push({ file, upload });
    else console.warn(`navlake local S3: ignoring malformed pending marker ${file}`);
  }
  return found.sort((a, b) => bySequencer(a.upload, b.upload));
}

/** The newest id any marker was named by, so that new ids never repeat one. */
async function newestId(dirs: string[]): Promise<bigint> {
  let newest = 0n;
  for (const dir of dirs) {
    for (const name of await readdir(dir)) {
      const id = ID_FILE.exec(name)?.[1];
      if (id !== undefined && BigInt(`0x${id}`) > newest) newest = BigInt(`0x${id}`);
    }
  }
  return newest;
}

export async function startLocalS3(options: LocalS3Options): Promise<LocalS3> {
  const { lakeDir, port = DEFAULT_LOCAL_S3_PORT, host = '127.0.0.1', onObjectCreated, onDeliverySettled, silent = false } = options;
  const storageDir = path.join(lakeDir, 's3');
  const pendingDir = path.join(lakeDir, 'pending');
  const processedDir = path.join(lakeDir, 'processed');
  const versionsDir = path.join(lakeDir, 'versions');
  const dirs = [storageDir, pendingDir, processedDir, versionsDir];
  await Promise.all(dirs.map((dir) => mkdir(dir, { recursive: true })));
  await healLeftovers(storageDir, dirs);

  const pendingFile = (id: string) => path.join(pendingDir, `${id}.json`);
  const processedFile = (id: string) => path.join(processedDir, `${id}.json`);
  const versionFile = (id: string) => path.join(versionsDir, id);
  const nextSequencer = sequencerClock(await newestId([pendingDir, processedDir]));

  const server = new S3rver({ address: host, port, directory: storageDir, silent, vhostBuckets: false });
  const store = server.store;
  guardStore(store);
  writeAtomically(store, {
    lock: keyedMutex(),
    record: async (key, size, eTag) => {
      const info = requestInfo.getStore();
      const id = nextSequencer();
      const upload: Upload = {
        bucket: LOCAL_RAW_BUCKET,
        key,
        size,
        eTag,
        eventTime: new Date().toISOString(),
        eventName: info?.eventName ?? 'ObjectCreated:Put',
        sequencer: id,
        versionId: id,
        sourceIPAddress: info?.sourceIPAddress ?? '127.0.0.1',
      };
      try {
        await writeJsonAtomic(pendingFile(id), upload);
      } catch (error) {
        throw new S3Error('InternalError', `could not record the upload of s3://${LOCAL_RAW_BUCKET}/${key}: ${errorText(error)}`);
      }
      return upload;
    },
    keep: async (upload, objectPath) => {
      try {
        await link(objectPath, versionFile(upload.sequencer));
      } catch (error) {
        // Stored and recorded: the next start finds the marker and keeps the object then.
        throw new S3Error('InternalError', `could not keep a version of s3://${upload.bucket}/${upload.key}: ${errorText(error)}`);
      }
    },
    unrecord: (upload) => rm(pendingFile(upload.sequencer), { force: true }),
  });
  // After writeAtomically, so that its writes of configurations are the ones that make the store forget them.
  rememberBucketConfigurations(store);
  server.middleware.unshift(guardRequest, serveVersions(versionsDir, pendingFile));
  await Promise.all([LOCAL_RAW_BUCKET, LOCAL_LAKE_BUCKET].map((bucket) => store.putBucket(bucket)));

  const rawObject = async (key: string): Promise<{ eTag: string; size: number; file: string } | undefined> => {
    const meta = await ifStored(store.getMetadata(LOCAL_RAW_BUCKET, key));
    if (meta === null) return undefined;
    return {
      eTag: JSON.parse(meta.etag) as string,
      size: meta['content-length'],
      file: store.getResourcePath(LOCAL_RAW_BUCKET, key, 'object'),
    };
  };

  /**
   * A lake written before versions existed: each unprocessed upload (a pending marker whose object is still stored,
   * or a stored object with neither marker) becomes a recorded version, so the replay below treats it like any other.
   * Processed ones were named by (bucket, key, ETag); after this, no such marker is read again.
   */
  const adoptLegacy = async (pending: Upload[]): Promise<void> => {
    const legacyDone = (key: string, eTag: string) =>
      exists(path.join(processedDir, `${createHash('sha256').update(`${LOCAL_RAW_BUCKET}\0${key}\0${eTag}`).digest('hex')}.json`));
    const stored = new Map<string, { eTag: string; size: number; lastModified: Date }>();
    for (const o of (await store.listObjects(LOCAL_RAW_BUCKET, {})).objects) {
      stored.set(o.key, { eTag: JSON.parse(o.metadata.etag) as string, size: o.size, lastModified: o.lastModifiedDate });
    }
    const covered = new Set(pending.filter((u) => u.versionId !== undefined).map((u) => u.key));
    const adopt = async (upload: Upload): Promise<void> => {
      await link(store.getResourcePath(LOCAL_RAW_BUCKET, upload.key, 'object'), versionFile(upload.sequencer)).catch((e: unknown) => {
        if (errorCode(e) !== 'EEXIST') throw e;
      });
      await writeJsonAtomic(pendingFile(upload.sequencer), upload);
      covered.add(upload.key);
    };
    for (const upload of pending) {
      if (upload.versionId !== undefined) continue;
      const current = stored.get(upload.key);
      // A marker whose object was since deleted or overwritten is dropped: the newer object is delivered on its own.
      if (
        upload.bucket !== LOCAL_RAW_BUCKET ||
        current?.eTag !== upload.eTag ||
        covered.has(upload.key) ||
        (await legacyDone(upload.key, upload.eTag))
      ) {
        await rm(pendingFile(upload.sequencer), { force: true });
      } else {
        await adopt({ ...upload, versionId: upload.sequencer });
      }
    }
    for (const [key, { eTag, size, lastModified }] of stored) {
      if (covered.has(key) || (await legacyDone(key, eTag))) continue;
      const id = nextSequencer();
      await adopt({
        bucket: LOCAL_RAW_BUCKET,
        key,
        size,
        eTag,
        eventTime: lastModified.toISOString(),
        eventName: 'ObjectCreated:Put',
        sequencer: id,
        versionId: id,
        sourceIPAddress: '127.0.0.1',
      });
    }
    await writeAtomic(path.join(versionsDir, ADOPTED_FLAG), `${new Date().toISOString()}\n`);
  };

  // Planned before the server listens, so an upload arriving meanwhile is delivered live and never also replayed.
  if (!(await exists(path.join(versionsDir, ADOPTED_FLAG)))) await adoptLegacy((await readPending(pendingDir)).map((p) => p.upload));
  const replays: Upload[] = [];
  for (const { file, upload } of await readPending(pendingDir)) {
    const id = upload.sequencer;
    if (await exists(processedFile(id))) {
      // Stopped between recording success and removing the marker.
      await rm(file, { force: true });
    } else if (await exists(versionFile(id))) {
      replays.push(upload);
    } else {
      // Recorded, then killed before its version was kept: stored only if the key holds its bytes. (Had the key held
      // identical bytes before, this replays them once more, which changes nothing.)
      const current = await rawObject(upload.key);
      if (current && current.eTag === upload.eTag && current.size === upload.size) {
        await link(current.file, versionFile(id));
        replays.push(upload);
      } else {
        await rm(file, { force: true });
      }
    }
  }
  const replayed = new Set(replays.map((u) => u.sequencer));
  for (const name of await readdir(versionsDir)) {
    if (VERSION_ID.test(name) && !replayed.has(name)) await rm(versionFile(name), { force: true });
  }

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
    const event = toS3Event(u);
    const where = `s3://${u.bucket}/${u.key}`;
    try {
      await callback(event);
    } catch (error) {
      console.error(`navlake local S3: processing ${where} failed; it is retried at the next start`, error);
      onDeliverySettled?.(event, new DeliveryError(`processing ${where} failed: ${errorText(error)}`, { cause: error }));
      return;
    }
    try {
      await writeJsonAtomic(processedFile(u.sequencer), { ...u, processedAt: new Date().toISOString() });
    } catch (error) {
      console.error(`navlake local S3: could not record that ${where} was processed; it is processed again at the next start`, error);
      onDeliverySettled?.(
        event,
        new DeliveryError(`${where} was processed but could not be recorded as such: ${errorText(error)}`, { cause: error }),
      );
      return;
    }
    // Cleanup only: the processed marker already rules out a replay, and the next start removes what is left.
    await rm(pendingFile(u.sequencer), { force: true }).catch(() => undefined);
    await rm(versionFile(u.sequencer), { force: true }).catch(() => undefined);
    onDeliverySettled?.(event);
  };

  if (onObjectCreated) {
    server.on('event', (event) => {
      const record = event.Records[0];
      if (!record || record.s3.bucket.name !== LOCAL_RAW_BUCKET || !record.eventName.startsWith('ObjectCreated:')) return;
      const upload = requestInfo.getStore()?.upload;
      if (!upload) {
        console.error(`navlake local S3: no record of the upload of s3://${LOCAL_RAW_BUCKET}/${record.s3.object.key}`);
        return;
      }
      track(() => deliver(upload, onObjectCreated));
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
    holds: async (bucket, key) => (await ifStored(access(store.getResourcePath(bucket, key, 'object')))) !== null,
    storedText: (bucket, key) => ifStored(readFile(store.getResourcePath(bucket, key, 'object'), 'utf8')),
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

/**
 * `GET`/`HEAD navlake-raw/<key>?versionId=<id>`: the bytes of that upload, as long as it is unprocessed, whatever the
 * key holds now. Other requests with a versionId on the raw bucket are refused rather than applied to the current object.
 */
function serveVersions(versionsDir: string, pendingFile: (id: string) => string): S3rver.Middleware {
  return async (ctx, next) => {
    const versionId = ctx.query.versionId;
    const match = /^\/([^/]+)\/(.+)$/.exec(ctx.path);
    if (versionId === undefined || match?.[1] !== LOCAL_RAW_BUCKET) return next();
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
      throw new S3Error('NotImplemented', 'This local S3 only reads versions (GET and HEAD)');
    }
    if (typeof versionId !== 'string' || !VERSION_ID.test(versionId)) {
      throw new S3Error('InvalidArgument', 'Invalid version id specified', { ArgumentName: 'versionId', ArgumentValue: String(versionId) });
    }
    let key: string;
    try {
      key = decodeURIComponent(match[2] as string);
    } catch {
      throw new S3Error('InvalidURI', "Couldn't parse the specified URI.");
    }
    const noSuchVersion = new S3Error('NoSuchVersion', 'The specified version does not exist.', { Key: key, VersionId: versionId });
    let upload: unknown;
    try {
      upload = JSON.parse(await readFile(pendingFile(versionId), 'utf8'));
    } catch {
      throw noSuchVersion;
    }
    if (!isUpload(upload) || upload.key !== key || upload.versionId !== versionId) throw noSuchVersion;
    const file = path.join(versionsDir, versionId);
    const handle = await open(file).catch(() => {
      throw noSuchVersion;
    });
    ctx.set('ETag', JSON.stringify(upload.eTag));
    ctx.set('Last-Modified', new Date(upload.eventTime).toUTCString());
    ctx.set('Content-Type', 'binary/octet-stream');
    ctx.set('x-amz-version-id', versionId);
    ctx.status = 200;
    ctx.length = (await handle.stat()).size;
    if (ctx.method === 'HEAD') await handle.close();
    else ctx.body = handle.createReadStream();
  };
}
