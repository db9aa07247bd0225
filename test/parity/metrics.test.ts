/**
 * The alarm on rejected uploads watches a metric only the ingest handler emits: namespace, metric name and the full
 * dimension set must match the EMF the handler really prints, or the alarm never fires. The deployed entry point runs
 * here with the environment the synthesized function gets, against the embedded S3, and its stdout is parsed.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../cli/local-endpoint.ts';
import { LOCAL_LAKE_BUCKET } from '../../lambdas/lake/layout.ts';
import { notificationMessage, putRaw, s3Record, sqsEvent } from '../helpers/events.ts';
import { startTestS3 } from '../helpers/local-s3.ts';
import { logicalId, synthesize } from '../cdk/synth.ts';

interface Emf {
  _aws: { CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string; Unit?: string }> }> };
  [key: string]: unknown;
}

const { stack, template } = synthesize({ bundle: false });
const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, unknown> }>;
const ingestFunction = resources[logicalId(stack.ingest.function)];
if (ingestFunction === undefined) throw new Error('No ingest function in the template');
const deployedEnvironment = (ingestFunction.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
/** Alarms on metrics the stack's own code emits (not AWS/ service metrics). */
const customAlarms = Object.values(resources)
  .filter((r) => r.Type === 'AWS::CloudWatch::Alarm' && !String(r.Properties.Namespace).startsWith('AWS/'))
  .map((r) => r.Properties as { Namespace: string; MetricName: string; Dimensions: Array<{ Name: string; Value: unknown }> });

describe('metrics of the deployed handler', () => {
  beforeEach(() => {
    vi.resetModules();
    for (const [name, value] of Object.entries(deployedEnvironment)) {
      // LAKE_BUCKET is a reference to the bucket; locally the lake bucket has a fixed name.
      vi.stubEnv(name, typeof value === 'string' ? value : LOCAL_LAKE_BUCKET);
    }
    vi.stubEnv('AWS_REGION', LOCAL_REGION);
    vi.stubEnv('AWS_ACCESS_KEY_ID', LOCAL_CREDENTIALS.accessKeyId);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', LOCAL_CREDENTIALS.secretAccessKey);
    vi.stubEnv('AWS_REQUEST_CHECKSUM_CALCULATION', 'WHEN_REQUIRED');
    vi.stubEnv('AWS_RESPONSE_CHECKSUM_VALIDATION', 'WHEN_REQUIRED');
    // The test configuration disables Powertools metrics everywhere else; Lambda has them on.
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
  });
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
  });

  it('are exactly what the rejected-uploads alarm watches', async () => {
    // Prepare
    expect(deployedEnvironment.LAKE_BUCKET).toEqual({ Ref: logicalId(stack.storage.lakeBucket) });
    expect(customAlarms.length).toBeGreaterThan(0);
    const s3 = await startTestS3();
    vi.stubEnv('AWS_ENDPOINT_URL_S3', s3.endpoint);
    const page = await putRaw(s3.client, 'uploads/eksport.txt', '<!DOCTYPE html>\n<html><body>503 Service Unavailable</body></html>\n');
    // Powertools prints EMF (and log lines) to process.stdout through its own Console, not console.log.
    const printed: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation(((chunk: string | Uint8Array) => {
      printed.push(String(chunk));
      return true;
    }) as typeof process.stdout.write);
    const { handler } = await import('../../lambdas/ingest/handler.ts');

    // Act
    const response = await handler(sqsEvent(notificationMessage(s3Record(page))));

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    const emfs = printed
      .flatMap((chunk) => chunk.split('\n'))
      .filter((line) => line.startsWith('{') && line.includes('"_aws"'))
      .map((line) => JSON.parse(line) as Emf);
    expect(emfs).toHaveLength(1);
    const emf = emfs[0]!;
    expect(emf.FilesRejected).toBe(1);
    const [directive] = emf._aws.CloudWatchMetrics;
    expect(emf._aws.CloudWatchMetrics).toHaveLength(1);
    const emitted = new Set(directive!.Metrics.map((m) => m.Name));
    expect(emitted.has('FilesRejected')).toBe(true);
    // CloudWatch keys a metric by its full dimension set: the alarm must name every dimension, with the value printed.
    expect(directive!.Dimensions).toHaveLength(1);
    const dimensions = directive!.Dimensions[0]!;
    for (const alarm of customAlarms) {
      expect(alarm.Namespace).toBe(directive!.Namespace);
      expect(emitted.has(alarm.MetricName), alarm.MetricName).toBe(true);
      expect(alarm.Dimensions).toEqual(dimensions.map((name) => ({ Name: name, Value: emf[name] })));
    }
  });
});
