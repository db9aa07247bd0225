import { Stack, Validations } from 'aws-cdk-lib';
import type { Bucket, CfnBucket } from 'aws-cdk-lib/aws-s3';
import type { IConstruct } from 'constructs';

/**
 * Acknowledges cdk-nag's AwsSolutions-IAM5 finding for object ARNs `<bucket>/<prefix>*` granted in `scope`'s
 * policies (prefix `''`: every object). cdk-nag 3 matches each finding by its exact text, which names the bucket by its logical id, so the id is
 * computed here instead of being copied from a synth run (it would silently stop matching after a rename).
 */
export function acknowledgeObjectWildcards(scope: IConstruct, bucket: Bucket, prefixes: readonly string[], reason: string): void {
  const logicalId = Stack.of(bucket).getLogicalId(bucket.node.defaultChild as CfnBucket);
  for (const prefix of prefixes) {
    Validations.of(scope).acknowledge({ id: `AwsSolutions-IAM5[Resource::<${logicalId}.Arn>/${prefix}*]`, reason });
  }
}
