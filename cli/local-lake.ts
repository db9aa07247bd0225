/**
 * The whole pipeline on one machine: the embedded S3 server, and the same ingest handler the Lambda runs, called
 * in-process for every object created in the raw bucket. Callers can wait for the outcome of an upload they made.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { S3Event } from 'aws-lambda';
import { createKeyLock } from '../lambdas/lake/key-lock.ts';
import { LOCAL_LAKE_BUCKET, LOCAL_RAW_BUCKET } from '../lambdas/lake/layout.ts';
import { decodeS3Key } from '../lambdas/ingest/events.ts';
import { createIngestHandler, type IngestHandler } from '../lambdas/ingest/handler.ts';
import { DEFAULT_MAX_UPLOAD_BYTES, type IngestLogger, type IngestOutcome } from '../lambdas/ingest/ingest-upload.ts';
import { localS3Client, startLocalS3, type LocalS3 } from './local-s3.ts';
import { writeCatalogFile } from './local-query.ts';

export interface LocalLakeOptions {
  lakeDir: string;
  port?: number;
  host?: string;
  maxUploadBytes?: number;
  logger?: IngestLogger;
  /** Called for every processed upload, including replays of uploads left from an earlier run. */
  onOutcome?: (key: string, outcome: IngestOutcome) => void;
}

export interface LocalLake {
  server: LocalS3;
  /** The outcome of the upload of `key` whose ETag is `eTag` (quotes optional); waits until it is processed. */
  outcomeOf(key: string, eTag: string): Promise<IngestOutcome>;
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
}

function deferred(): Deferred {
  let resolve!: (o: IngestOutcome) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<IngestOutcome>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

export async function startLocalLake(options: LocalLakeOptions): Promise<LocalLake> {
  const outcomes = new Map<string, Deferred>();
  const slotId = (key: string, eTag: string) => `${key}\u0000${eTag.replace(/"/g, '')}`;
  const slot = (key: string, eTag: string): Deferred => {
    const id = slotId(key, eTag);
    let d = outcomes.get(id);
    if (!d) {
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
  let catalog: Promise<unknown> = Promise.resolve();
  const refreshCatalog = () => {
    // One at a time: the views only change when a table gets its first file, but a rebuild is cheap.
    catalog = catalog
      .then(() => writeCatalogFile(options.lakeDir))
      .catch((e: unknown) => {
        (options.logger ?? quietLogger).warn('could not refresh navlake.duckdb', { error: String(e) });
      });
    return catalog;
  };

  const onObjectCreated = async (event: S3Event): Promise<void> => {
    await ready;
    const record = event.Records[0];
    const key = record ? decodeS3Key(record.s3.object.key) : '';
    const d = slot(key, record?.s3.object.eTag ?? '');
    try {
      const result = await (handler as IngestHandler)(event);
      for (const outcome of result.outcomes) {
        d.resolve(outcome);
        options.onOutcome?.(key, outcome);
      }
      await refreshCatalog();
    } catch (e) {
      d.reject(e);
      throw e;
    }
  };

  const server = await startLocalS3({
    lakeDir: options.lakeDir,
    silent: true,
    onObjectCreated,
    ...(options.port === undefined ? {} : { port: options.port }),
    ...(options.host === undefined ? {} : { host: options.host }),
  });
  const handlerClient = localS3Client(server.endpoint);
  handler = createIngestHandler({
    s3: handlerClient,
    lakeBucket: LOCAL_LAKE_BUCKET,
    maxUploadBytes: options.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES,
    logger: options.logger ?? quietLogger,
    lock: createKeyLock(),
  });
  markReady();
  await refreshCatalog();

  return {
    server,
    outcomeOf: (key, eTag) => {
      const id = slotId(key, eTag);
      const promise = slot(key, eTag).promise;
      // Handed out once: the waiter holds it now, and `serve`, which never asks, keeps no outcomes.
      void promise.finally(() => outcomes.delete(id)).catch(() => undefined);
      return promise;
    },
    close: async () => {
      await server.close();
      handlerClient.destroy();
      await catalog;
    },
  };
}

/** Uploads one file through the S3 API, as a user's `aws s3 cp` would, and waits for the handler's outcome. */
export async function uploadAndWait(lake: LocalLake, file: string, key: string): Promise<IngestOutcome> {
  const size = (await stat(file)).size;
  const put = await lake.server.client.send(
    new PutObjectCommand({ Bucket: LOCAL_RAW_BUCKET, Key: key, Body: createReadStream(file), ContentLength: size }),
  );
  return lake.outcomeOf(key, put.ETag ?? '');
}
