// The deployed entry point as Lambda calls it: configured only from the environment the stack sets, emitting the
// metrics the alarms watch. Against the real embedded S3 (the SDK reads the endpoint from AWS_ENDPOINT_URL_S3).
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { createIngestHandler, type IngestMetrics } from '../../lambdas/ingest/handler.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../cli/local-endpoint.ts';
import { LOCAL_LAKE_BUCKET } from '../../lambdas/lake/layout.ts';
import { localS3Client } from '../../cli/local-s3.ts';
import { startTestS3 } from '../helpers/local-s3.ts';
import { notificationMessage, putRaw, s3Record, seedText, sqsEvent } from '../helpers/events.ts';

const ENV = {
  AWS_REGION: LOCAL_REGION,
  AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
  AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
  AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_REQUIRED',
  LAKE_BUCKET: LOCAL_LAKE_BUCKET,
  POWERTOOLS_LOG_LEVEL: 'SILENT',
};

describe('the deployed handler export', () => {
  beforeEach(() => {
    vi.resetModules();
    for (const [k, v] of Object.entries(ENV)) vi.stubEnv(k, v);
  });
  afterEach(() => vi.unstubAllEnvs());

  it('reads LAKE_BUCKET and MAX_UPLOAD_BYTES from the environment', async () => {
    // Prepare
    const s3 = await startTestS3();
    vi.stubEnv('AWS_ENDPOINT_URL_S3', s3.endpoint);
    vi.stubEnv('MAX_UPLOAD_BYTES', '1000');
    const ref = await putRaw(s3.client, 'too-big.txt', seedText());
    const { handler } = await import('../../lambdas/ingest/handler.ts');
    // Act
    const result = await handler(sqsEvent(notificationMessage(s3Record(ref))));
    // Assess: rejected as TOO_LARGE by the limit from the environment, not retried.
    expect(result).toEqual({ batchItemFailures: [] });
    const { readLakeJson } = await import('../helpers/events.ts');
    const report = await readLakeJson<{ code: string; message: string }>(s3.lakeDir, 'rejected/too-big.txt.json');
    expect(report.code).toBe('TOO_LARGE');
    expect(report.message).toContain('the limit is 1000 bytes');
  });

  it('refuses to start without LAKE_BUCKET', async () => {
    vi.stubEnv('LAKE_BUCKET', '');
    const { handler } = await import('../../lambdas/ingest/handler.ts');
    await expect(handler(sqsEvent())).rejects.toThrow('LAKE_BUCKET is not set');
  });
});

describe('metrics', () => {
  it('counts records written, files rejected and warnings per upload, and publishes once per invocation', async () => {
    // Prepare
    const s3 = await startTestS3();
    const added: Array<[string, string, number]> = [];
    let published = 0;
    const metrics: IngestMetrics = {
      addMetric: (name, unit, value) => void added.push([name, unit, value]),
      publishStoredMetrics: () => void published++,
    };
    const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
    const handler = createIngestHandler({
      s3: localS3Client(s3.endpoint),
      lakeBucket: LOCAL_LAKE_BUCKET,
      maxUploadBytes: 1 << 20,
      logger: quiet,
      metrics,
    });
    const good = await putRaw(s3.client, 'good.txt', seedText());
    const bad = await putRaw(s3.client, 'bad.txt', '<!DOCTYPE html><title>502</title>\n');
    // Act
    await handler(sqsEvent(notificationMessage(s3Record(good)), notificationMessage(s3Record(bad))));
    // Assess
    expect(added).toEqual([
      ['RecordsWritten', MetricUnit.Count, 7430],
      ['FilesRejected', MetricUnit.Count, 0],
      ['ParseWarnings', MetricUnit.Count, 1],
      ['RecordsWritten', MetricUnit.Count, 0],
      ['FilesRejected', MetricUnit.Count, 1],
      ['ParseWarnings', MetricUnit.Count, 0],
    ]);
    expect(published).toBe(1);
  });
});
