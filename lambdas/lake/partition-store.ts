/**
 * Merges one upload's rows for a month into the lake's object for that (dataset, year, month): read the object,
 * merge by the replacement rules (partition-merge.ts), and write it back only if it changed. On S3 the write is
 * conditional (If-Match on the ETag read, If-None-Match for a new object) and retried on conflict, so concurrent and
 * duplicate deliveries converge; the embedded S3 server ignores conditions, so locally a per-key lock serialises it.
 */
import { once } from 'node:events';
import { createGzip } from 'node:zlib';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { KeyLock } from './key-lock.ts';
import {
  type EncodedPartition,
  type HeldRow,
  heldIncomingBatches,
  heldLine,
  type IncomingRow,
  incomingLines,
  type Provenance,
  readHeldRows,
} from './observation-file.ts';
import { type MergeResult, mergePartition } from './partition-merge.ts';
import { isNotFound, isWriteConflict } from './s3-errors.ts';

export type { Provenance };

export interface PartitionMerge {
  bucket: string;
  key: string;
  partition: EncodedPartition;
  provenance: Provenance;
  /** Whether the upload's copy of a section (sectionKey) is complete in this partition's year. */
  complete: (section: string) => boolean;
}

export interface PartitionMergeResult extends MergeResult {
  attempts: number;
}

export interface PartitionStoreOptions {
  lock?: KeyLock;
  /**
   * With `lock` only: whether the bucket holds an object at `key`, asked under the key's lock, so nothing writes the
   * key in between. A month the lake has never held then costs no GET that could only answer NoSuchKey: the embedded
   * lake answers from its store's directory, where that GET would look.
   */
  holds?: (bucket: string, key: string) => Promise<boolean>;
  maxAttempts?: number;
}

const DEFAULT_MAX_ATTEMPTS = 12;

export class PartitionConflictError extends Error {
  override readonly name = 'PartitionConflictError';
}

export async function mergeIntoPartition(
  s3: S3Client,
  merge: PartitionMerge,
  options: PartitionStoreOptions = {},
): Promise<PartitionMergeResult> {
  const { lock, holds } = options;
  const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  if (!lock) return mergeWithRetries(s3, merge, maxAttempts);
  return lock(`${merge.bucket}/${merge.key}`, () => mergeWithRetries(s3, merge, maxAttempts, holds));
}

async function mergeWithRetries(
  s3: S3Client,
  merge: PartitionMerge,
  maxAttempts: number,
  holds?: PartitionStoreOptions['holds'],
): Promise<PartitionMergeResult> {
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const current = holds && !(await holds(merge.bucket, merge.key)) ? { rows: [] } : await readPartition(s3, merge.bucket, merge.key);
    const out = new GzipCollector();
    const incomingLine = incomingLines(merge.provenance);
    const result = await mergePartition(
      {
        existing: current.rows,
        incoming: paced(heldIncomingBatches(merge.partition, merge.provenance.rank), out),
        rank: merge.provenance.rank,
        sections: merge.partition.sections,
        complete: merge.complete,
      },
      (row, sectionRank, from) =>
        out.write(`${from === 'existing' ? heldLine(row as HeldRow, sectionRank) : incomingLine(row as IncomingRow, sectionRank)}\n`),
    );
    if (!result.changed) {
      out.discard();
      return { ...result, attempts: attempt };
    }
    try {
      await s3.send(
        new PutObjectCommand({
          Bucket: merge.bucket,
          Key: merge.key,
          Body: await out.end(),
          ContentType: 'application/gzip',
          ...(current.etag ? { IfMatch: current.etag } : { IfNoneMatch: '*' }),
        }),
      );
      return { ...result, attempts: attempt };
    } catch (e) {
      if (!isWriteConflict(e)) throw e;
      await sleep(Math.min(1000, 20 * 2 ** attempt) * Math.random());
    }
  }
  throw new PartitionConflictError(`${merge.key}: still conflicting after ${maxAttempts} conditional writes`);
}

async function readPartition(s3: S3Client, bucket: string, key: string): Promise<{ etag?: string; rows: HeldRow[] }> {
  try {
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const bytes = object.Body ? await object.Body.transformToByteArray() : new Uint8Array();
    return { ...(object.ETag ? { etag: object.ETag } : {}), rows: bytes.length > 0 ? readHeldRows(bytes) : [] };
  } catch (e) {
    if (isNotFound(e)) return { rows: [] };
    throw e;
  }
}

/**
 * The merge emits a batch's lines at once and they are compressed on another thread: before the next batch, wait
 * until the compressor has caught up, so that a month of 60,000 rows is never queued whole as text.
 */
async function* paced<T>(batches: Iterable<T>, out: GzipCollector): AsyncGenerator<T> {
  for (const batch of batches) {
    yield batch;
    await out.drained();
  }
}

/** One gzip stream, fed line by line, its output kept compressed: a big partition never exists as one string. */
class GzipCollector {
  private readonly gzip = createGzip({ level: 6 });
  private readonly chunks: Buffer[] = [];
  private readonly done: Promise<void>;
  private pending = '';

  constructor() {
    this.gzip.on('data', (c: Buffer) => this.chunks.push(c));
    this.done = new Promise((resolve, reject) => {
      this.gzip.once('end', resolve);
      this.gzip.once('error', reject);
    });
    // Awaited in end(); a merge abandoned before it must not crash the process.
    this.done.catch(() => undefined);
  }

  write(text: string): void {
    this.pending += text;
    if (this.pending.length >= 64 * 1024) {
      this.gzip.write(this.pending);
      this.pending = '';
    }
  }

  /** Resolves once the compressor can take more (at once when it can now). */
  drained(): Promise<unknown> {
    return this.gzip.writableNeedDrain ? once(this.gzip, 'drain') : Promise.resolve();
  }

  discard(): void {
    this.gzip.destroy();
  }

  async end(): Promise<Buffer> {
    this.gzip.end(this.pending);
    await this.done;
    return Buffer.concat(this.chunks);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
