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

/**
 * The function CDK adds once per stack for one of its custom resources (its construct id starts with `idPrefix`), with
 * a role CDK defines: its findings are acknowledged on it because they cannot be changed from this stack. The managed
 * logging policy is acknowledged here with `purpose` (what the function does) as the reason; the caller adds the rest.
 */
export function cdkManagedFunction(scope: IConstruct, idPrefix: string, name: string, purpose: string): IConstruct {
  const handler = Stack.of(scope).node.children.find((c) => c.node.id.startsWith(idPrefix));
  if (handler === undefined) throw new Error(`CDK did not create its ${name}`);
  Validations.of(handler).acknowledge({
    id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    reason: `${purpose}; the managed policy only lets it write its own logs.`,
  });
  return handler;
}
