import { Validations } from 'aws-cdk-lib';
import type { Bucket } from 'aws-cdk-lib/aws-s3';
import { BucketDeployment, Source } from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import { acknowledgeObjectWildcards, cdkManagedFunction } from './nag.ts';
import { REFERENCE_OBJECTS } from '../lambdas/regions/reference-objects.ts';

export interface ReferenceDataProps {
  readonly lakeBucket: Bucket;
}

/**
 * Writes the reference tables (`regions`, `region_groups`) into the lake at deploy time, from the same bodies the
 * local lake writes (lambdas/regions/reference-objects.ts), so Athena reads the rows the parser assigned codes from.
 * One deployment per table, each owning only its table's prefix: `prune` then removes an object this version no
 * longer ships without touching anything else in the lake.
 */
export class ReferenceData extends Construct {
  readonly deployments: BucketDeployment[];

  constructor(scope: Construct, id: string, props: ReferenceDataProps) {
    super(scope, id);
    const { lakeBucket } = props;
    this.deployments = REFERENCE_OBJECTS.map(
      (object) =>
        new BucketDeployment(this, `${object.table.name}`, {
          destinationBucket: lakeBucket,
          destinationKeyPrefix: object.table.prefix,
          sources: [Source.data(object.fileName, object.body)],
          prune: true,
          // Athena reads the objects through its own requests; nothing caches them.
          retainOnDelete: true,
          contentType: 'application/x-ndjson; charset=utf-8',
          memoryLimit: 256,
        }),
    );
    acknowledgeDeploymentHandler(this, lakeBucket);
  }
}

/**
 * BucketDeployment runs a CDK-provided singleton function (one per stack and memory size) with a role CDK defines.
 * Its findings are acknowledged on that function, since they cannot be changed from this stack.
 */
function acknowledgeDeploymentHandler(scope: Construct, lakeBucket: Bucket): void {
  const handler = cdkManagedFunction(
    scope,
    'Custom::CDKBucketDeployment',
    'bucket deployment handler',
    'CDK-managed deploy-time function that copies the reference tables into the lake',
  );
  const copies =
    'CDK grants its deployment function read on the staged asset and read-write on the destination bucket, with ' +
    'wildcard actions; it runs only when CloudFormation deploys, and writes (and prunes) only below the two reference ' +
    'prefixes given to it.';
  for (const action of ['s3:GetObject*', 's3:GetBucket*', 's3:List*', 's3:DeleteObject*', 's3:Abort*']) {
    Validations.of(handler).acknowledge({ id: `AwsSolutions-IAM5[Action::${action}]`, reason: copies });
  }
  Validations.of(handler).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*]',
    reason: 'The reference tables are staged as a CDK asset in the bootstrap bucket, under a hash-named key.',
  });
  acknowledgeObjectWildcards(handler, lakeBucket, [''], copies);
  Validations.of(handler).acknowledge({
    id: 'AwsSolutions-L1',
    reason:
      'The runtime of the CDK-managed bucket deployment function is chosen by aws-cdk-lib (it bundles the AWS CLI ' +
      'layer for its Python version); it runs only during deployments.',
  });
}
