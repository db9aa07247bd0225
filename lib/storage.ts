import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership, type BucketProps } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

/** Athena writes query results under this prefix of the results bucket, and BI readers may write nowhere else. */
export const ATHENA_RESULTS_PREFIX = 'results/';

/** Query results are a cache that BI tools re-create on demand; keeping them longer only costs money. */
const ATHENA_RESULTS_EXPIRATION = Duration.days(30);

/** One year of access logs covers an audit of the yearly statistics cycle. */
const ACCESS_LOGS_EXPIRATION = Duration.days(365);

/** An upload that has not completed in a week has been abandoned; its parts are billed until removed. */
const ABANDONED_UPLOAD_CLEANUP = Duration.days(7);

/**
 * The four buckets. Every bucket is private, encrypted, refuses plain-HTTP requests and logs its access; none is
 * deleted with the stack, because CloudFormation cannot delete a bucket that still holds objects (the results and
 * log buckets empty themselves through expiry, the raw and lake buckets are the data).
 */
export class Storage extends Construct {
  /** Server access logs of the other three buckets. */
  readonly accessLogsBucket: Bucket;
  /** Uploaded exports, every version of every upload. */
  readonly rawBucket: Bucket;
  /** Observations, ingestion records and rejection reports written by the ingest function. */
  readonly lakeBucket: Bucket;
  /** Athena query results. */
  readonly athenaResultsBucket: Bucket;

  constructor(scope: Construct, id: string) {
    super(scope, id);

    this.accessLogsBucket = new Bucket(this, 'AccessLogs', {
      ...privateBucket(),
      lifecycleRules: [{ expiration: ACCESS_LOGS_EXPIRATION }],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.rawBucket = new Bucket(this, 'Raw', {
      ...privateBucket(),
      ...loggedTo(this.accessLogsBucket, 'raw/'),
      // An export uploaded again under the same name must not destroy the one before it.
      versioned: true,
      lifecycleRules: [{ abortIncompleteMultipartUploadAfter: ABANDONED_UPLOAD_CLEANUP }],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.lakeBucket = new Bucket(this, 'Lake', {
      ...privateBucket(),
      ...loggedTo(this.accessLogsBucket, 'lake/'),
      // Not versioned: every lake object can be rebuilt from the raw bucket, and partitions are rewritten often.
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.athenaResultsBucket = new Bucket(this, 'AthenaResults', {
      ...privateBucket(),
      ...loggedTo(this.accessLogsBucket, 'athena-results/'),
      lifecycleRules: [{ expiration: ATHENA_RESULTS_EXPIRATION, abortIncompleteMultipartUploadAfter: ABANDONED_UPLOAD_CLEANUP }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }
}

function privateBucket(): BucketProps {
  return {
    blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
    // SSE-S3 rather than KMS: server access log delivery only supports SSE-S3, and BI readers then need no key grant.
    encryption: BucketEncryption.S3_MANAGED,
    enforceSSL: true,
    minimumTLSVersion: 1.2,
    objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
  };
}

function loggedTo(accessLogsBucket: Bucket, prefix: string): BucketProps {
  return { serverAccessLogsBucket: accessLogsBucket, serverAccessLogsPrefix: prefix };
}
