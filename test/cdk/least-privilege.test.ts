/**
 * Least privilege, proven on the synthesized template: what the ingest function and the BI reader may and may not
 * do, and that every bucket refuses plain-HTTP requests.
 */
import { describe, expect, it } from 'vitest';
import { ingestionKey, observationKey, rejectedKey } from '../../lambdas/lake/layout.ts';
import { isAllowed, roleStatements, statementsOf, type Statement } from './policy.ts';
import { logicalId, synthesize } from './synth.ts';

// Only the template matters here, so esbuild is skipped.
const { stack, template } = synthesize({ bundle: false });

const bucketArn = {
  raw: `<${logicalId(stack.storage.rawBucket)}.Arn>`,
  lake: `<${logicalId(stack.storage.lakeBucket)}.Arn>`,
  results: `<${logicalId(stack.storage.athenaResultsBucket)}.Arn>`,
  logs: `<${logicalId(stack.storage.accessLogsBucket)}.Arn>`,
};
const regionalArn = (service: string, resource: string): string =>
  `arn:<AWS::Partition>:${service}:<AWS::Region>:<AWS::AccountId>:${resource}`;

const lakeKeys = {
  observation: observationKey('deltakere-i-arbeidsrettede-tiltak', 2019, 1),
  ingestion: ingestionKey('deltakere-i-arbeidsrettede-tiltak', '2024-02-01T10:00:00.000Z', 'abc'),
  rejected: rejectedKey('uploads/broken.txt'),
};

const S3_WRITES = ['s3:PutObject', 's3:DeleteObject', 's3:DeleteObjectVersion', 's3:PutObjectAcl', 's3:RestoreObject'];

function mentions(statements: readonly Statement[], arn: string): boolean {
  return statements.some((s) => s.resources.some((r) => r.includes(arn)));
}

describe('ingest function', () => {
  const statements = roleStatements(template, logicalId(stack.ingest.role));

  it('is the role the function runs as', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Role: { 'Fn::GetAtt': [logicalId(stack.ingest.role), 'Arn'] },
      Runtime: 'nodejs24.x',
    });
  });

  it('reads uploads from the raw bucket, by version', () => {
    expect(isAllowed(statements, 's3:GetObject', `${bucketArn.raw}/any/upload.txt`)).toBe(true);
    expect(isAllowed(statements, 's3:GetObjectVersion', `${bucketArn.raw}/any/upload.txt`)).toBe(true);
  });

  it('cannot write, delete or list the raw bucket', () => {
    for (const action of S3_WRITES) {
      expect(isAllowed(statements, action, `${bucketArn.raw}/any/upload.txt`), action).toBe(false);
    }
    expect(isAllowed(statements, 's3:ListBucket', bucketArn.raw)).toBe(false);
    expect(isAllowed(statements, 's3:PutBucketNotification', bucketArn.raw)).toBe(false);
  });

  it('reads and writes the lake prefixes, under the keys the layout module builds', () => {
    for (const key of Object.values(lakeKeys)) {
      expect(isAllowed(statements, 's3:GetObject', `${bucketArn.lake}/${key}`), key).toBe(true);
      expect(isAllowed(statements, 's3:PutObject', `${bucketArn.lake}/${key}`), key).toBe(true);
    }
    expect(isAllowed(statements, 's3:ListBucket', bucketArn.lake)).toBe(true);
  });

  it('cannot write outside the lake prefixes, nor delete anything in the lake', () => {
    expect(isAllowed(statements, 's3:PutObject', `${bucketArn.lake}/elsewhere/x.json`)).toBe(false);
    expect(isAllowed(statements, 's3:PutObject', `${bucketArn.lake}/observationsX/x.json`)).toBe(false);
    for (const key of Object.values(lakeKeys)) {
      expect(isAllowed(statements, 's3:DeleteObject', `${bucketArn.lake}/${key}`), key).toBe(false);
    }
  });

  it('has no access at all to the Athena results and access log buckets', () => {
    expect(mentions(statements, bucketArn.results)).toBe(false);
    expect(mentions(statements, bucketArn.logs)).toBe(false);
    for (const action of ['s3:GetObject', 's3:ListBucket', ...S3_WRITES]) {
      expect(isAllowed(statements, action, `${bucketArn.results}/results/q.csv`), action).toBe(false);
      expect(isAllowed(statements, action, `${bucketArn.logs}/raw/log`), action).toBe(false);
    }
  });

  it('uses no wildcard actions and no `*` resources', () => {
    for (const s of statements.filter((st) => st.effect === 'Allow')) {
      expect(s.actions.filter((a) => a.includes('*'))).toEqual([]);
      expect(s.resources).not.toContain('*');
    }
  });

  it('only touches S3, its own queue and its own log group', () => {
    const services = new Set(statements.flatMap((s) => s.actions.map((a) => a.split(':')[0])));
    expect([...services].sort()).toEqual(['logs', 's3', 'sqs']);
    const queueArn = `<${logicalId(stack.ingest.queue)}.Arn>`;
    const logGroupArn = `<${logicalId(stack.ingest.function.logGroup)}.Arn>`;
    for (const s of statements) {
      if (s.actions.some((a) => a.startsWith('sqs:'))) expect(s.resources).toEqual([queueArn]);
      if (s.actions.some((a) => a.startsWith('logs:'))) expect(s.resources).toEqual([logGroupArn]);
    }
  });
});

describe('BI reader policy', () => {
  const policy = template.toJSON().Resources[logicalId(stack.bi.readerPolicy)] as {
    Type: string;
    Properties: { PolicyDocument: unknown };
  };
  const statements = statementsOf(policy.Properties.PolicyDocument);
  const workGroup = regionalArn('athena', 'workgroup/navlake');

  it('is a managed policy', () => {
    expect(policy.Type).toBe('AWS::IAM::ManagedPolicy');
  });

  it('runs and reads queries in the navlake workgroup only', () => {
    for (const action of ['athena:StartQueryExecution', 'athena:GetQueryExecution', 'athena:GetQueryResults']) {
      expect(isAllowed(statements, action, workGroup), action).toBe(true);
      expect(isAllowed(statements, action, regionalArn('athena', 'workgroup/primary')), action).toBe(false);
    }
    expect(isAllowed(statements, 'athena:UpdateWorkGroup', workGroup)).toBe(false);
    expect(isAllowed(statements, 'athena:DeleteWorkGroup', workGroup)).toBe(false);
  });

  it('reads the navlake tables in Glue, and nothing else there', () => {
    for (const table of ['observations', 'ingestions']) {
      expect(isAllowed(statements, 'glue:GetTable', regionalArn('glue', `table/navlake/${table}`))).toBe(true);
      expect(isAllowed(statements, 'glue:GetPartitions', regionalArn('glue', `table/navlake/${table}`))).toBe(true);
    }
    expect(isAllowed(statements, 'glue:GetTable', regionalArn('glue', 'table/other/secrets'))).toBe(false);
    expect(isAllowed(statements, 'glue:UpdateTable', regionalArn('glue', 'table/navlake/observations'))).toBe(false);
    expect(isAllowed(statements, 'glue:DeleteTable', regionalArn('glue', 'table/navlake/observations'))).toBe(false);
  });

  it('reads the table data in the lake', () => {
    expect(isAllowed(statements, 's3:GetObject', `${bucketArn.lake}/${lakeKeys.observation}`)).toBe(true);
    expect(isAllowed(statements, 's3:GetObject', `${bucketArn.lake}/${lakeKeys.ingestion}`)).toBe(true);
    const listing = { 's3:prefix': 'observations/year=2019/month=01/' };
    expect(isAllowed(statements, 's3:ListBucket', bucketArn.lake, listing)).toBe(true);
    expect(isAllowed(statements, 's3:ListBucket', bucketArn.lake, { 's3:prefix': 'rejected/' })).toBe(false);
  });

  it('cannot write the lake, read rejection reports or touch the raw bucket', () => {
    for (const key of [...Object.values(lakeKeys), 'anything.json']) {
      for (const action of S3_WRITES) {
        expect(isAllowed(statements, action, `${bucketArn.lake}/${key}`), `${action} ${key}`).toBe(false);
      }
    }
    expect(isAllowed(statements, 's3:GetObject', `${bucketArn.lake}/${lakeKeys.rejected}`)).toBe(false);
    expect(mentions(statements, bucketArn.raw)).toBe(false);
  });

  it('writes query results under the results prefix only', () => {
    expect(isAllowed(statements, 's3:PutObject', `${bucketArn.results}/results/abc.csv`)).toBe(true);
    expect(isAllowed(statements, 's3:GetObject', `${bucketArn.results}/results/abc.csv`)).toBe(true);
    expect(isAllowed(statements, 's3:PutObject', `${bucketArn.results}/elsewhere/abc.csv`)).toBe(false);
    expect(isAllowed(statements, 's3:DeleteObject', `${bucketArn.results}/results/abc.csv`)).toBe(false);
  });

  it('uses no wildcard actions and no `*` resources', () => {
    for (const s of statements) {
      expect(s.actions.filter((a) => a.includes('*'))).toEqual([]);
      expect(s.resources).not.toContain('*');
    }
  });
});

describe('bucket policies', () => {
  const policies = Object.values(template.findResources('AWS::S3::BucketPolicy'));

  it.each(Object.entries(bucketArn))('%s bucket denies requests without TLS', (_name, arn) => {
    const bucketId = arn.slice(1, -'.Arn>'.length);
    const policy = policies.find((p) => (p.Properties?.Bucket as { Ref?: string } | undefined)?.Ref === bucketId);
    expect(policy, `bucket policy of ${bucketId}`).toBeDefined();
    const statements = statementsOf(policy?.Properties?.PolicyDocument);
    const denyPlainHttp = statements.find((s) => s.effect === 'Deny' && s.conditions.Bool?.['aws:SecureTransport']?.includes('false'));
    expect(denyPlainHttp?.actions).toEqual(['s3:*']);
    expect(denyPlainHttp?.resources).toEqual([arn, `${arn}/*`]);
    expect(policy?.Properties?.PolicyDocument).toMatchObject({
      Statement: expect.arrayContaining([
        expect.objectContaining({ Effect: 'Deny', Principal: { AWS: '*' }, Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      ]),
    });
  });
});
