/**
 * The ingest Lambda. Deployed, S3 notifications arrive through SQS and failures are reported per message
 * (`batchItemFailures`) so that only transient failures are redelivered and, in the end, dead-lettered; a rejected
 * file is a permanent outcome, not a failure. Locally, `navlake serve` calls the same handler with plain S3 events.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { S3Client } from '@aws-sdk/client-s3';
import type { S3Event, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { isSqsEvent, uploadsFromS3Event, uploadsFromSqsRecord, type UploadRef } from './events.ts';
import { ingestUpload, type IngestDeps, type IngestOutcome } from './ingest-upload.ts';
import { DEFAULT_MAX_UPLOAD_BYTES, INGEST_SERVICE_NAME, METRICS_NAMESPACE } from './settings.ts';

export interface IngestMetrics {
  addMetric(name: string, unit: (typeof MetricUnit)[keyof typeof MetricUnit], value: number): void;
  publishStoredMetrics(): void;
}

export interface HandlerDeps extends IngestDeps {
  metrics?: IngestMetrics;
}

export interface S3EventResult {
  outcomes: IngestOutcome[];
}

export type IngestHandler = {
  (event: SQSEvent): Promise<SQSBatchResponse>;
  (event: S3Event): Promise<S3EventResult>;
  (event: SQSEvent | S3Event): Promise<SQSBatchResponse | S3EventResult>;
};

export function createIngestHandler(deps: HandlerDeps): IngestHandler {
  const ingest = async (upload: UploadRef): Promise<IngestOutcome> => {
    const outcome = await ingestUpload(deps, upload);
    if (deps.metrics && outcome.status !== 'missing') {
      deps.metrics.addMetric('RecordsWritten', MetricUnit.Count, outcome.ingestion.records_written);
      deps.metrics.addMetric('FilesRejected', MetricUnit.Count, outcome.status === 'rejected' ? 1 : 0);
      deps.metrics.addMetric('ParseWarnings', MetricUnit.Count, outcome.ingestion.warnings.length);
    }
    return outcome;
  };

  const handle = async (event: SQSEvent | S3Event): Promise<SQSBatchResponse | S3EventResult> => {
    try {
      if (isSqsEvent(event)) {
        const failures: SQSBatchResponse['batchItemFailures'] = [];
        for (const record of event.Records) {
          const parsed = uploadsFromSqsRecord(record);
          if (!parsed.ok) {
            // Redelivering a body we cannot read would fail the same way every time.
            deps.logger.error('ignoring an SQS message that is not an S3 notification', {
              messageId: record.messageId,
              reason: parsed.reason,
            });
            continue;
          }
          try {
            for (const upload of parsed.uploads) await ingest(upload);
          } catch (e) {
            deps.logger.error('transient failure; the message will be redelivered', { messageId: record.messageId, error: errorText(e) });
            failures.push({ itemIdentifier: record.messageId });
          }
        }
        return { batchItemFailures: failures };
      }
      const outcomes: IngestOutcome[] = [];
      for (const upload of uploadsFromS3Event(event)) outcomes.push(await ingest(upload));
      return { outcomes };
    } finally {
      deps.metrics?.publishStoredMetrics();
    }
  };
  return handle as IngestHandler;
}

function errorText(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

let deployed: IngestHandler | undefined;

/** The deployed entry point, configured from the environment the stack sets. */
export const handler = async (event: SQSEvent | S3Event): Promise<SQSBatchResponse | S3EventResult> => {
  deployed ??= createIngestHandler(depsFromEnv());
  return deployed(event);
};

function depsFromEnv(): HandlerDeps {
  const lakeBucket = process.env.LAKE_BUCKET;
  if (!lakeBucket) throw new Error('LAKE_BUCKET is not set');
  const maxUploadBytes = Number(process.env.MAX_UPLOAD_BYTES ?? DEFAULT_MAX_UPLOAD_BYTES);
  const serviceName = process.env.POWERTOOLS_SERVICE_NAME ?? INGEST_SERVICE_NAME;
  const projected = /^(\d{4})-(\d{4})$/.exec(process.env.PROJECTED_YEARS ?? '');
  return {
    ...(projected ? { projectedYears: [Number(projected[1]), Number(projected[2])] as const } : {}),
    s3: new S3Client({ maxAttempts: 5 }),
    lakeBucket,
    maxUploadBytes: Number.isFinite(maxUploadBytes) && maxUploadBytes > 0 ? maxUploadBytes : DEFAULT_MAX_UPLOAD_BYTES,
    logger: powertoolsLogger(new Logger({ serviceName })),
    metrics: new Metrics({ namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? METRICS_NAMESPACE, serviceName }),
  };
}

/** Powertools takes structured extras as a second argument object; this adapts it to the handler's logger shape. */
export function powertoolsLogger(logger: Logger): IngestDeps['logger'] {
  return {
    info: (message, extra) => logger.info(message, extra ?? {}),
    warn: (message, extra) => logger.warn(message, extra ?? {}),
    error: (message, extra) => logger.error(message, extra ?? {}),
  };
}
