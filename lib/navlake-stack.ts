import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { Alarms } from './alarms.ts';
import { BiAccess } from './bi-access.ts';
import { DEFAULT_INGEST_MAX_CONCURRENCY, IngestPipeline } from './ingest-pipeline.ts';
import { DEFAULT_FIRST_YEAR, DEFAULT_LAST_YEAR } from './partition-projection.ts';
import { DEFAULT_BYTES_SCANNED_CUTOFF, QueryLayer } from './query-layer.ts';
import { ReferenceData } from './reference-data.ts';
import { Storage } from './storage.ts';

/**
 * CDK feature flags this stack relies on. cdk.json is shared by the whole repository, so they are pinned on the
 * stack: `cdk synth` and the tests then build the same template whatever cdk.json says.
 */
const FEATURE_FLAGS: Readonly<Record<string, boolean>> = {
  // Access log delivery through a bucket policy; the legacy ACL grant does not work with BucketOwnerEnforced.
  '@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy': true,
};

export interface NavlakeStackProps extends StackProps {
  /** Ingest invocations running at once (SQS maximum concurrency, 2-1000). Default 5; context `ingestMaxConcurrency`. */
  readonly ingestMaxConcurrency?: number;
  /** First year Athena looks for in observations. Default 2015; context `projectionFirstYear`. */
  readonly projectionFirstYear?: number;
  /** Last year Athena looks for in observations. Default 2035; context `projectionLastYear`. */
  readonly projectionLastYear?: number;
}

/**
 * Uploads land in the raw bucket, an S3 notification queues them, the ingest function parses them into the lake,
 * Glue and Athena make the lake queryable, BI tools connect with a reader policy, and alarms call a person when an
 * upload needs one.
 *
 * Context: `bytesScannedCutoff` (bytes per Athena query, default 1 GiB), `alarmEmail` (subscribed to the alarms), and
 * `ingestMaxConcurrency`, `projectionFirstYear`, `projectionLastYear` when the matching prop is not given.
 */
export class NavlakeStack extends Stack {
  readonly storage: Storage;
  readonly ingest: IngestPipeline;
  readonly query: QueryLayer;
  readonly bi: BiAccess;
  readonly reference: ReferenceData;
  readonly alarms: Alarms;

  constructor(scope: Construct, id: string, props: NavlakeStackProps = {}) {
    const { ingestMaxConcurrency, projectionFirstYear, projectionLastYear, ...stackProps } = props;
    super(scope, id, {
      description: 'navlake: NAV monthly statistics exports as an SQL-ready data lake (S3, Lambda, Glue, Athena)',
      ...stackProps,
    });
    for (const [flag, value] of Object.entries(FEATURE_FLAGS)) this.node.setContext(flag, value);

    this.storage = new Storage(this, 'Storage');
    const firstYear = projectionFirstYear ?? integerContext(this, 'projectionFirstYear') ?? DEFAULT_FIRST_YEAR;
    const lastYear = projectionLastYear ?? integerContext(this, 'projectionLastYear') ?? DEFAULT_LAST_YEAR;

    this.ingest = new IngestPipeline(this, 'Ingest', {
      rawBucket: this.storage.rawBucket,
      lakeBucket: this.storage.lakeBucket,
      projectedYears: [firstYear, lastYear],
      maxConcurrency: ingestMaxConcurrency ?? integerContext(this, 'ingestMaxConcurrency') ?? DEFAULT_INGEST_MAX_CONCURRENCY,
    });

    this.query = new QueryLayer(this, 'Query', {
      lakeBucket: this.storage.lakeBucket,
      athenaResultsBucket: this.storage.athenaResultsBucket,
      bytesScannedCutoff: bytesScannedCutoff(this),
      firstYear,
      lastYear,
    });

    this.reference = new ReferenceData(this, 'Reference', { lakeBucket: this.storage.lakeBucket });

    this.bi = new BiAccess(this, 'BiAccess', {
      queryLayer: this.query,
      lakeBucket: this.storage.lakeBucket,
      athenaResultsBucket: this.storage.athenaResultsBucket,
    });

    const email = alarmEmail(this);
    this.alarms = new Alarms(this, 'Alarms', {
      deadLetterQueue: this.ingest.deadLetterQueue,
      ingestFunction: this.ingest.function,
      filesRejected: this.ingest.metricFilesRejected(),
      ...(email === undefined ? {} : { email }),
    });

    // What a user needs after `cdk deploy`: where to upload, and how to connect a BI tool.
    const outputs: Record<string, { value: string; description: string }> = {
      RawBucketName: { value: this.storage.rawBucket.bucketName, description: 'Upload NAV exports here' },
      LakeBucketName: { value: this.storage.lakeBucket.bucketName, description: 'Observations, ingestions, rejected' },
      AthenaWorkGroup: { value: this.query.workGroup.ref, description: 'Athena workgroup' },
      GlueDatabase: { value: this.query.database.ref, description: 'Glue database (the schema in JDBC/ODBC terms)' },
      AthenaResultsLocation: { value: this.query.resultsLocation, description: 'Athena query results' },
      AthenaJdbcUrl: { value: this.bi.jdbcUrl, description: 'Athena JDBC 3.x driver URL' },
      AthenaOdbcConnectionString: {
        value: this.bi.odbcConnectionString,
        description: 'Athena ODBC 2.x connection string; add Driver= and authentication',
      },
      BiReaderPolicyArn: {
        value: this.bi.readerPolicy.managedPolicyArn,
        description: 'Attach to the IAM user or role of a BI tool',
      },
      AlarmTopicArn: { value: this.alarms.topic.topicArn, description: 'Alarm notifications' },
    };
    for (const [name, output] of Object.entries(outputs)) new CfnOutput(this, name, output);
  }
}

function bytesScannedCutoff(scope: Construct): number {
  const value: unknown = scope.node.tryGetContext('bytesScannedCutoff');
  if (value === undefined || value === '') return DEFAULT_BYTES_SCANNED_CUTOFF;
  // `-c bytesScannedCutoff=...` on the command line arrives as a string; QueryLayer checks the range.
  const bytes = typeof value === 'string' ? Number(value.trim()) : value;
  if (typeof bytes !== 'number') throw new Error(`Context bytesScannedCutoff must be a number; got ${JSON.stringify(value)}`);
  return bytes;
}

/** A whole-number context value; `-c name=...` on the command line arrives as a string. */
function integerContext(scope: Construct, name: string): number | undefined {
  const value: unknown = scope.node.tryGetContext(name);
  if (value === undefined || value === '') return undefined;
  const n = typeof value === 'string' && /^\s*-?[0-9]+\s*$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n)) {
    throw new Error(`Context ${name} must be a whole number; got ${JSON.stringify(value)}`);
  }
  return n;
}

function alarmEmail(scope: Construct): string | undefined {
  const value: unknown = scope.node.tryGetContext('alarmEmail');
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string' || !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(value)) {
    throw new Error(`Context alarmEmail must be an e-mail address; got ${JSON.stringify(value)}`);
  }
  return value;
}
