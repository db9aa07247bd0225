/**
 * Least privilege, proven on the synthesized template: what the ingest function and the BI reader may and may not
 * do, and that every bucket refuses plain-HTTP requests.
 */
import { describe, expect, it } from 'vitest';
import { ingestionKey, observationKey, rejectedKey } from '../../lambdas/lake/layout.ts';
import { REFERENCE_OBJECTS } from '../../lambdas/regions/reference-objects.ts';
import { ACCOUNT_WIDE_LIST_ACTIONS } from '../../lib/bi-access.ts';
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

  it('writes the lake prefixes, under the keys the layout module builds', () => {
    for (const key of Object.values(lakeKeys)) {
      expect(isAllowed(statements, 's3:PutObject', `${bucketArn.lake}/${key}`), key).toBe(true);
    }
    expect(isAllowed(statements, 's3:ListBucket', bucketArn.lake)).toBe(true);
  });

  it('reads back only the partition objects it merges into, not the records and reports it only writes', () => {
    expect(isAllowed(statements, 's3:GetObject', `${bucketArn.lake}/${lakeKeys.observation}`)).toBe(true);
    expect(isAllowed(statements, 's3:GetObject', `${bucketArn.lake}/${lakeKeys.ingestion}`)).toBe(false);
    expect(isAllowed(statements, 's3:GetObject', `${bucketArn.lake}/${lakeKeys.rejected}`)).toBe(false);
    expect(isAllowed(statements, 's3:GetObject', `${bucketArn.lake}/elsewhere/x.json`)).toBe(false);
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
    for (const table of ['observations', 'ingestions', 'regions', 'region_groups']) {
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
    for (const object of REFERENCE_OBJECTS) expect(isAllowed(statements, 's3:GetObject', `${bucketArn.lake}/${object.key}`)).toBe(true);
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

  it('lists data catalogs, workgroups and engine versions, which IAM only grants on `*`', () => {
    for (const action of ['athena:ListDataCatalogs', 'athena:ListWorkGroups', 'athena:ListEngineVersions']) {
      expect(isAllowed(statements, action, '*'), action).toBe(true);
    }
  });

  it('lists the navlake database and its tables in Glue (as the JDBC/ODBC drivers do), and no other', () => {
    const catalog = regionalArn('glue', 'catalog');
    const database = regionalArn('glue', 'database/navlake');
    const tables = ['observations', 'ingestions'].map((t) => regionalArn('glue', `table/navlake/${t}`));
    for (const action of ['glue:GetDatabases', 'glue:GetDatabase', 'glue:GetTables']) {
      for (const arn of [catalog, database, ...tables]) expect(isAllowed(statements, action, arn), `${action} ${arn}`).toBe(true);
      expect(isAllowed(statements, action, regionalArn('glue', 'database/other')), action).toBe(false);
      expect(isAllowed(statements, action, regionalArn('glue', 'table/other/secrets')), action).toBe(false);
    }
    for (const action of ['athena:ListDatabases', 'athena:ListTableMetadata', 'athena:GetTableMetadata']) {
      expect(isAllowed(statements, action, regionalArn('athena', 'datacatalog/AwsDataCatalog')), action).toBe(true);
    }
  });

  it('uses no wildcard actions, and `*` only for the account-wide list actions', () => {
    for (const s of statements) {
      expect(s.actions.filter((a) => a.includes('*'))).toEqual([]);
      if (s.resources.includes('*')) {
        expect(s.resources).toEqual(['*']);
        expect([...s.actions].sort()).toEqual([...ACCOUNT_WIDE_LIST_ACTIONS].sort());
      }
    }
    expect(ACCOUNT_WIDE_LIST_ACTIONS.every((a) => /^athena:List/.test(a))).toBe(true);
    // Nothing that reads data or definitions, or runs a query, is granted on `*`.
    for (const action of ['athena:StartQueryExecution', 'athena:GetQueryResults', 'glue:GetTable', 's3:GetObject']) {
      expect(isAllowed(statements, action, '*'), action).toBe(false);
    }
  });
});

describe('ingest queue policy', () => {
  const queueId = logicalId(stack.ingest.queue);
  const policy = Object.values(template.findResources('AWS::SQS::QueuePolicy')).find((p) =>
    (p.Properties?.Queues as unknown[] | undefined)?.some((q) => (q as { Ref?: string }).Ref === queueId),
  );
  const statements = statementsOf(policy?.Properties?.PolicyDocument);
  const queueArn = `<${queueId}.Arn>`;
  const fromS3 = (sourceArn: string, sourceAccount: string) => ({
    'aws:SecureTransport': 'true',
    'aws:SourceArn': sourceArn,
    'aws:SourceAccount': sourceAccount,
  });

  it('lets S3 send notifications of the raw bucket in this account', () => {
    expect(isAllowed(statements, 'sqs:SendMessage', queueArn, fromS3(bucketArn.raw, '<AWS::AccountId>'))).toBe(true);
  });

  it('refuses the same bucket name owned by another account, and other buckets', () => {
    expect(isAllowed(statements, 'sqs:SendMessage', queueArn, fromS3(bucketArn.raw, '111122223333'))).toBe(false);
    expect(isAllowed(statements, 'sqs:SendMessage', queueArn, { 'aws:SecureTransport': 'true', 'aws:SourceArn': bucketArn.raw })).toBe(
      false,
    );
    expect(isAllowed(statements, 'sqs:SendMessage', queueArn, fromS3(bucketArn.lake, '<AWS::AccountId>'))).toBe(false);
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
