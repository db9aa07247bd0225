/**
 * Replaces one partition object only when the incoming upload is at least as new as the one already there. On S3
 * this is a conditional write (If-Match on the ETag just read, If-None-Match for a new object) retried on conflict,
 * so concurrent and duplicate deliveries converge on one object.
 */
import { HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { KeyLock } from './key-lock.ts';
import { isNotFound, isWriteConflict } from './s3-errors.ts';
import { compareUploads, fromMetadata, toMetadata, type UploadOrder } from './upload-order.ts';

export interface PartitionWrite {
  bucket: string;
  key: string;
  body: Uint8Array;
  records: number;
  order: UploadOrder;
}

export interface PartitionWriteResult {
  outcome: 'written' | 'kept_newer';
  /** The upload whose rows the partition holds now. */
  holder: UploadOrder;
  attempts: number;
}

export interface PartitionStoreOptions {
  lock?: KeyLock;
  maxAttempts?: number;
}

const DEFAULT_MAX_ATTEMPTS = 12;

export class PartitionConflictError extends Error {
  override readonly name = 'PartitionConflictError';
}

export async function replaceIfNewer(
  s3: S3Client,
  write: PartitionWrite,
  options: PartitionStoreOptions = {},
): Promise<PartitionWriteResult> {
  const attemptWrite = () => writeWithRetries(s3, write, options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS);
  return options.lock ? options.lock(`${write.bucket}/${write.key}`, attemptWrite) : attemptWrite();
}

async function writeWithRetries(s3: S3Client, write: PartitionWrite, maxAttempts: number): Promise<PartitionWriteResult> {
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const current = await readHolder(s3, write.bucket, write.key);
    if (current.order && compareUploads(write.order, current.order) < 0) {
      return { outcome: 'kept_newer', holder: current.order, attempts: attempt };
    }
    try {
      await s3.send(
        new PutObjectCommand({
          Bucket: write.bucket,
          Key: write.key,
          Body: write.body,
          ContentType: 'application/gzip',
          Metadata: toMetadata(write.order, write.records),
          ...(current.etag ? { IfMatch: current.etag } : { IfNoneMatch: '*' }),
        }),
      );
      return { outcome: 'written', holder: write.order, attempts: attempt };
    } catch (e) {
      if (!isWriteConflict(e)) throw e;
      await sleep(Math.min(1000, 20 * 2 ** attempt) * Math.random());
    }
  }
  throw new PartitionConflictError(`${write.key}: still conflicting after ${maxAttempts} conditional writes`);
}

async function readHolder(s3: S3Client, bucket: string, key: string): Promise<{ etag?: string; order: UploadOrder | null }> {
  try {
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return { ...(head.ETag ? { etag: head.ETag } : {}), order: fromMetadata(head.Metadata) };
  } catch (e) {
    if (isNotFound(e)) return { order: null };
    throw e;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
