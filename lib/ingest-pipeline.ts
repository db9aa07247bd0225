import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Metric, type MetricOptions } from 'aws-cdk-lib/aws-cloudwatch';
import { Effect, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { LogLevel, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  type Bucket,
  type BucketNotificationDestinationConfig,
  BucketNotificationDestinationType,
  EventType,
  type IBucketNotificationDestination,
  type IBucketRef,
} from 'aws-cdk-lib/aws-s3';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { REJECTED_PREFIX } from '../lambdas/lake/layout.ts';
import {
  DEFAULT_MAX_UPLOAD_BYTES,
  INGEST_MEMORY_MB,
  INGEST_SERVICE_NAME,
  INGEST_TIMEOUT_SECONDS,
  METRICS_NAMESPACE,
} from '../lambdas/ingest/settings.ts';
import { INGESTIONS_TABLE, OBSERVATIONS_TABLE } from '../lambdas/schema/columns.ts';
import { acknowledgeObjectWildcards, cdkManagedFunction } from './nag.ts';
import { MAIN_FIELDS, REQUIRE_SHIM, UNREACHED_IN_LAMBDA } from './handler-bundle.ts';

// Sized from `npm run bench` (lambda.peak_rss_mb_worst, lambda.seconds_worst): the worst upload the handler accepts
// (the most months an export can hold, or the upload limit) uses at most half the memory and half the timeout.
// The queue's visibility timeout follows INGEST_TIMEOUT.
export { INGEST_MEMORY_MB };
export const INGEST_TIMEOUT = Duration.seconds(INGEST_TIMEOUT_SECONDS);
/**
 * Uploads per invocation. One: a batch must fit in INGEST_TIMEOUT, and a single upload near the size limit already
 * takes half of it; partial batch responses stay on so the handler's contract is the same at any batch size.
 */
export const INGEST_BATCH_SIZE = 1;
/**
 * Ingest invocations running at once by default. A bulk upload of hundreds of exports then queues up instead of taking
 * the account's Lambda concurrency (1,000 by default, shared by every function) from other functions; five parse a
 * typical export each in seconds, so a year of monthly uploads still clears in about a minute. Unlike reserved
 * concurrency, the limit makes the poller wait rather than throttle, so messages do not age into the dead-letter queue.
 */
export const DEFAULT_INGEST_MAX_CONCURRENCY = 5;
/** Lambda's range for an SQS event source's maximum concurrency. */
const MAX_CONCURRENCY_RANGE = [2, 1000] as const;

// Shared with the handler, so the alarm watches the metrics it really emits.
export { INGEST_SERVICE_NAME, METRICS_NAMESPACE } from '../lambdas/ingest/settings.ts';
/** The handler refuses larger uploads instead of running out of memory on them. */
export const MAX_UPLOAD_BYTES = DEFAULT_MAX_UPLOAD_BYTES;

/** Deliveries of one upload before it is parked in the dead-letter queue. */
export const MAX_RECEIVE_COUNT = 5;
/** AWS recommends at least six function timeouts, so that retries of a throttled batch do not overlap. */
const VISIBILITY_TIMEOUT = Duration.seconds(6 * INGEST_TIMEOUT.toSeconds());
/** Longer than the source queue's retention: a message keeps its original enqueue time in the dead-letter queue. */
const DEAD_LETTER_RETENTION = Duration.days(14);
const QUEUE_RETENTION = Duration.days(4);
const LOG_RETENTION = RetentionDays.THREE_MONTHS;

/** Lake prefixes the ingest function writes. */
export const LAKE_WRITE_PREFIXES = [OBSERVATIONS_TABLE.prefix, INGESTIONS_TABLE.prefix, REJECTED_PREFIX] as const;
/** Lake prefixes it reads: partition objects, merged with each upload and written back. The rest it only writes. */
export const LAKE_READ_PREFIXES = [OBSERVATIONS_TABLE.prefix] as const;

const HANDLER_ENTRY = fileURLToPath(new URL('../lambdas/ingest/handler.ts', import.meta.url));
const LOCK_FILE = fileURLToPath(new URL('../package-lock.json', import.meta.url));

// Bundled dependencies written as CommonJS call `require`, which ES modules do not have.

export interface IngestPipelineProps {
  readonly rawBucket: Bucket;
  readonly lakeBucket: Bucket;
  /** Ingest invocations running at once; default DEFAULT_INGEST_MAX_CONCURRENCY. */
  readonly maxConcurrency?: number;
  /** The years the query layer projects (first, last): the function warns about values it stores outside them. */
  readonly projectedYears?: readonly [number, number];
}

/** Raw bucket ObjectCreated -> SQS queue (with dead-letter queue) -> ingest function -> lake bucket. */
export class IngestPipeline extends Construct {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;
  readonly function: NodejsFunction;
  readonly role: Role;

  constructor(scope: Construct, id: string, props: IngestPipelineProps) {
    super(scope, id);
    const { rawBucket, lakeBucket, maxConcurrency = DEFAULT_INGEST_MAX_CONCURRENCY } = props;
    const [minConcurrency, maxAllowed] = MAX_CONCURRENCY_RANGE;
    if (!Number.isSafeInteger(maxConcurrency) || maxConcurrency < minConcurrency || maxConcurrency > maxAllowed) {
      throw new Error(`ingest maxConcurrency must be a whole number from ${minConcurrency} to ${maxAllowed}; got ${maxConcurrency}`);
    }

    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      ...encryptedQueue(),
      retentionPeriod: DEAD_LETTER_RETENTION,
    });

    this.queue = new Queue(this, 'Queue', {
      ...encryptedQueue(),
      visibilityTimeout: VISIBILITY_TIMEOUT,
      retentionPeriod: QUEUE_RETENTION,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: MAX_RECEIVE_COUNT },
    });

    // A queue between S3 and the function: uploads survive throttling and failures, and a poison file ends up in
    // the dead-letter queue instead of being retried forever.
    rawBucket.addEventNotification(EventType.OBJECT_CREATED, new QueueFromOwnBucket(this.queue));
    // S3 bucket notifications are configured by a custom resource that CDK adds once per stack.
    cdkManagedFunction(
      this,
      'BucketNotificationsHandler',
      'bucket notifications handler',
      'CDK-managed deploy-time custom resource that sets the raw bucket notification',
    );

    const logGroup = new LogGroup(this, 'Logs', {
      retention: LOG_RETENTION,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    // An explicit role instead of the default: the default attaches AWSLambdaBasicExecutionRole, which may write
    // to every log group in the account.
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: 'navlake ingest: read uploads, write the lake',
    });
    logGroup.grantWrite(this.role);
    this.role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'ReadUploads',
        effect: Effect.ALLOW,
        // The handler reads the exact version named in the S3 event, so a later overwrite cannot swap the content.
        // No s3:ListBucket here: in the versioned raw bucket a version only disappears when someone destroys it,
        // and the resulting 403 (retried, then dead-lettered and alarmed) is the right reaction to that.
        actions: ['s3:GetObject', 's3:GetObjectVersion'],
        resources: [rawBucket.arnForObjects('*')],
      }),
    );
    this.role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'ReadPartitions',
        effect: Effect.ALLOW,
        actions: ['s3:GetObject'],
        resources: LAKE_READ_PREFIXES.map((prefix) => lakeBucket.arnForObjects(`${prefix}*`)),
      }),
    );
    this.role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'WriteLakePrefixes',
        effect: Effect.ALLOW,
        actions: ['s3:PutObject'],
        resources: LAKE_WRITE_PREFIXES.map((prefix) => lakeBucket.arnForObjects(`${prefix}*`)),
      }),
    );
    this.role.addToPrincipalPolicy(
      new PolicyStatement({
        // Without s3:ListBucket, S3 answers 403 instead of 404 for a key that does not exist yet, and the function
        // could not tell a new partition from a permission error. An s3:prefix condition would not help: the key is
        // only in the request context of ListObjects, so the check behind GetObject/HeadObject would fail it.
        sid: 'ListLake',
        effect: Effect.ALLOW,
        actions: ['s3:ListBucket'],
        resources: [lakeBucket.bucketArn],
      }),
    );
    acknowledgeObjectWildcards(
      this.role,
      rawBucket,
      [''],
      'Uploads arrive under any key the uploader chooses; the function may only read them.',
    );
    acknowledgeObjectWildcards(
      this.role,
      lakeBucket,
      LAKE_WRITE_PREFIXES,
      'Object keys below the lake prefixes are derived from dataset names and periods, known only at run time.',
    );

    this.function = new NodejsFunction(this, 'Function', {
      description: 'navlake ingest: parses uploaded NAV exports into the lake',
      entry: HANDLER_ENTRY,
      handler: 'handler',
      depsLockFilePath: LOCK_FILE,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: INGEST_MEMORY_MB,
      timeout: INGEST_TIMEOUT,
      role: this.role,
      logGroup,
      environment: {
        LAKE_BUCKET: lakeBucket.bucketName,
        MAX_UPLOAD_BYTES: String(MAX_UPLOAD_BYTES),
        POWERTOOLS_SERVICE_NAME: INGEST_SERVICE_NAME,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        POWERTOOLS_LOG_LEVEL: 'INFO',
        ...(props.projectedYears ? { PROJECTED_YEARS: props.projectedYears.join('-') } : {}),
      },
      bundling: {
        // Local esbuild only: `cdk synth` must work without Docker.
        forceDockerBundling: false,
        format: OutputFormat.ESM,
        mainFields: MAIN_FIELDS,
        banner: REQUIRE_SHIM,
        minify: true,
        sourceMap: false,
        // The S3 client is bundled rather than taken from the runtime: one file loads in ~100 ms where the runtime's
        // hundreds of SDK modules take ~300 ms (bench: lambda.cold_start_ms), and the version is the one tested.
        // Only credential providers that Lambda's environment credentials make unreachable stay out.
        externalModules: UNREACHED_IN_LAMBDA,
        logLevel: LogLevel.WARNING,
      },
    });

    this.function.addEventSource(
      new SqsEventSource(this.queue, { batchSize: INGEST_BATCH_SIZE, reportBatchItemFailures: true, maxConcurrency }),
    );
  }

  /** Uploads the handler rejected (the `FilesRejected` metric it emits). */
  metricFilesRejected(options?: MetricOptions): Metric {
    return new Metric({
      namespace: METRICS_NAMESPACE,
      metricName: 'FilesRejected',
      dimensionsMap: { service: INGEST_SERVICE_NAME },
      statistic: 'Sum',
      period: Duration.minutes(5),
      ...options,
    });
  }
}

/**
 * The queue as the raw bucket's notification target. CDK's SqsDestination lets S3 send on behalf of the bucket ARN
 * only (`aws:SourceArn`); bucket ARNs carry no account, so `aws:SourceAccount` is added to pin the sender to a bucket
 * of this account (a bucket name freed by deletion can be taken by anyone).
 */
class QueueFromOwnBucket implements IBucketNotificationDestination {
  private readonly queue: Queue;

  constructor(queue: Queue) {
    this.queue = queue;
  }

  bind(_scope: Construct, bucket: IBucketRef): BucketNotificationDestinationConfig {
    this.queue.grantSendMessages(
      new ServicePrincipal('s3.amazonaws.com', {
        conditions: {
          ArnLike: { 'aws:SourceArn': bucket.bucketRef.bucketArn },
          StringEquals: { 'aws:SourceAccount': Stack.of(this.queue).account },
        },
      }),
    );
    // S3 checks that it may send to the queue when the notification is set, so the policy must exist first.
    return { arn: this.queue.queueArn, type: BucketNotificationDestinationType.QUEUE, dependencies: [this.queue] };
  }
}

function encryptedQueue(): { encryption: QueueEncryption; enforceSSL: boolean } {
  // SSE-SQS rather than KMS: S3 cannot send event notifications to a queue encrypted with the AWS-managed SQS key.
  return { encryption: QueueEncryption.SQS_MANAGED, enforceSSL: true };
}
