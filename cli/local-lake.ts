/**
 * The whole pipeline on one machine: the embedded S3 server, and the same ingest handler the Lambda runs, called
 * in-process for every object created in the raw bucket. Callers can wait for the outcome of an upload they made.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { PutObjectCommand, type PutObjectCommandOutput } from '@aws-sdk/client-s3';
import type { S3Event } from 'aws-lambda';
import { createKeyLock } from '../lambdas/lake/key-lock.ts';
import { LOCAL_LAKE_BUCKET, LOCAL_RAW_BUCKET } from '../lambdas/lake/layout.ts';
import { decodeS3Key } from '../lambdas/ingest/events.ts';
import { createIngestHandler, type IngestHandler } from '../lambdas/ingest/handler.ts';
import { ensureReferenceObjects } from '../lambdas/regions/reference-objects.ts';
import { DEFAULT_MAX_UPLOAD_BYTES, type IngestLogger, type IngestOutcome } from '../lambdas/ingest/ingest-upload.ts';
import { localS3Client, startLocalS3, type LocalS3 } from './local-s3.ts';
import { catalogWriter } from './local-catalog.ts';

export interface LocalLakeOptions {
  lakeDir: string;
  port?: number;
  host?: string;
  maxUploadBytes?: number;
  logger?: IngestLogger;
  /** Called for every processed upload, including replays of uploads left from an earlier run. */
  onOutcome?: (key: string, outcome: IngestOutcome) => void;
  /**
   * When navlake.duckdb is first written: 'start' (default), for a lake that serves; 'first-upload' for one that
   * is started to process uploads, whose first upload writes it anyway (it is then also written at close if no
   * upload was processed). Either way it is written again after every processed upload.
   */
  catalogFrom?: 'start' | 'first-upload';
}

export interface LocalLake {
  server: LocalS3;
  /**
   * The outcome of an upload of `key` (its ETag, quotes optional, or better the version id its PUT returned); waits
   * until it is processed and recorded, and rejects with the reason when processing or recording it failed.
   */
  outcomeOf(key: string, eTag: string, versionId?: string): Promise<IngestOutcome>;
  close(): Promise<void>;
}

/** Logs only what needs attention, as JSON lines on stderr, so CLI output stays readable. */
export const quietLogger: IngestLogger = {
  info: () => undefined,
  warn: () => undefined,
  error: (message, extra) => process.stderr.write(`${JSON.stringify({ level: 'ERROR', message, ...extra })}\n`),
};

const MAX_UNCLAIMED_OUTCOMES = 1000;

interface Deferred {
  promise: Promise<IngestOutcome>;
  resolve: (o: IngestOutcome) => void;
  reject: (e: unknown) => void;
  settled: boolean;
}

function deferred(): Deferred {
  const d = { settled: false } as Deferred;
  d.promise = new Promise<IngestOutcome>((resolve, reject) => {
    d.resolve = (o) => {
      d.settled = true;
      resolve(o);
    };
    d.reject = (e) => {
      d.settled = true;
      reject(e);
    };
  });
  d.promise.catch(() => undefined);
  return d;
}

export async function startLocalLake(options: LocalLakeOptions): Promise<LocalLake> {
  const outcomes = new Map<string, Deferred>();
  const byContent = (key: string, eTag: string) => `${key}\u0000${eTag.replace(/"/g, '')}`;
  const byVersion = (versionId: string) => `\u0000${versionId}`;
  /** `fresh`: a settled slot belongs to an earlier upload of the same content, so a new delivery gets its own. */
  const slot = (id: string, fresh = false): Deferred => {
    let d = outcomes.get(id);
    if (!d || (fresh && d.settled)) {
      d = deferred();
      outcomes.set(id, d);
      // Outcomes nobody asked for (uploads made with another client) are kept only for the most recent ones.
      if (outcomes.size > MAX_UNCLAIMED_OUTCOMES) outcomes.delete(outcomes.keys().next().value as string);
    }
    return d;
  };

  let handler: IngestHandler | undefined;
  let markReady!: () => void;
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });
  const catalogFile = catalogWriter(options.lakeDir);
  let catalog: Promise<unknown> | undefined;
  const refreshCatalog = () => {
    // One at a time: the views only change when a table gets its first file, but a rebuild is cheap.
    catalog = (catalog ?? Promise.resolve())
      .then(() => catalogFile.write())
      .catch((e: unknown) => {
        (options.logger ?? quietLogger).warn('could not refresh navlake.duckdb', { error: String(e) });
      });
    return catalog;
  };

  /** Outcomes of processed deliveries (by sequencer), until the local S3 server has recorded them. */
  const processed = new Map<string, IngestOutcome>();
  const onObjectCreated = async (event: S3Event): Promise<void> => {
    await ready;
    const result = await (handler as IngestHandler)(event);
    const outcome = result.outcomes[0];
    if (outcome) processed.set(event.Records[0]?.s3.object.sequencer ?? '', outcome);
    await refreshCatalog();
  };
  // Settled only once the delivery is recorded, so a waiter never hears "done" for an upload the next start replays.
  const onDeliverySettled = (event: S3Event, error?: Error): void => {
    const object = event.Records[0]?.s3.object;
    const key = object ? decodeS3Key(object.key) : '';
    const outcome = processed.get(object?.sequencer ?? '');
    processed.delete(object?.sequencer ?? '');
    const waiting = [slot(byContent(key, object?.eTag ?? ''), true)];
    if (object?.versionId) waiting.push(slot(byVersion(object.versionId)));
    for (const d of waiting) {
      if (error) d.reject(error);
      else if (outcome) d.resolve(outcome);
      else d.reject(new Error(`s3://${LOCAL_RAW_BUCKET}/${key}: the ingest handler reported no outcome`));
    }
    if (!error && outcome) options.onOutcome?.(key, outcome);
  };

  const server = await startLocalS3({
    lakeDir: options.lakeDir,
    silent: true,
    onObjectCreated,
    onDeliverySettled,
    ...(options.port === undefined ? {} : { port: options.port }),
    ...(options.host === undefined ? {} : { host: options.host }),
  }).catch(async (e: unknown) => {
    await catalogFile.close();
    throw e;
  });
  const handlerClient = localS3Client(server.endpoint);
  handler = createIngestHandler({
    s3: handlerClient,
    lakeBucket: LOCAL_LAKE_BUCKET,
    maxUploadBytes: options.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES,
    logger: options.logger ?? quietLogger,
    lock: createKeyLock(),
    holds: server.holds,
  });
  // Before any upload is processed and before the catalog is written, so the views of `regions` and `region_groups`
  // exist from the first query on. Compared with the store's files (no request), written through the S3 API, whose PUT
  // the local store makes atomic.
  try {
    await ensureReferenceObjects(handlerClient, LOCAL_LAKE_BUCKET, (key) => server.storedText(LOCAL_LAKE_BUCKET, key));
  } catch (e) {
    await server.close();
    handlerClient.destroy();
    await catalogFile.close();
    throw e;
  }
  markReady();
  // Not awaited: DuckDB writes the file on its own threads while the first uploads are processed; close() waits.
  if (options.catalogFrom !== 'first-upload') void refreshCatalog();

  return {
    server,
    outcomeOf: (key, eTag, versionId) => {
      const id = versionId ? byVersion(versionId) : byContent(key, eTag);
      const promise = slot(id).promise;
      // Handed out once: the waiter holds it now, and `serve`, which never asks, keeps no outcomes.
      void promise.finally(() => outcomes.delete(id)).catch(() => undefined);
      return promise;
    },
    close: async () => {
      await server.close();
      handlerClient.destroy();
      await (catalog ?? refreshCatalog());
      await catalogFile.close();
    },
  };
}

/** Uploads one file through the S3 API, as a user's `aws s3 cp` would, and waits for the handler's outcome. */
export async function uploadAndWait(lake: LocalLake, file: string, key: string): Promise<IngestOutcome> {
  return (await upload(lake, file, key)).outcome;
}

/** Uploads one file through the S3 API; resolves once it is stored, with its outcome still to come. */
export async function upload(lake: LocalLake, file: string, key: string): Promise<{ outcome: Promise<IngestOutcome> }> {
  const size = (await stat(file)).size;
  let put: PutObjectCommandOutput;
  try {
    put = await lake.server.client.send(
      new PutObjectCommand({ Bucket: LOCAL_RAW_BUCKET, Key: key, Body: createReadStream(file), ContentLength: size }),
    );
  } catch (e) {
    throw new Error(`uploading ${file} to s3://${LOCAL_RAW_BUCKET}/${key} failed: ${e instanceof Error ? e.message : String(e)}`, {
      cause: e,
    });
  }
  return { outcome: lake.outcomeOf(key, put.ETag ?? '', put.VersionId) };
}
