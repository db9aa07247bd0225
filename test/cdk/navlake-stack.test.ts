/**
 * The properties of the Navlake stack that matter: storage safety, the upload -> queue -> function wiring, the
 * function's runtime and bundle, the Glue tables against the schema module, the Athena workgroup, the BI outputs and
 * the alarms. The stack is synthesized once, with the real esbuild bundling, as `cdk synth` does it.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it, vi } from 'vitest';
import { observationPartitionPrefix } from '../../lambdas/lake/layout.ts';
import {
  INGESTIONS_TABLE,
  OBSERVATIONS_TABLE,
  REFERENCE_TABLES,
  dataColumns,
  glueType,
  partitionColumns,
  type ColumnDef,
  type TableDef,
} from '../../lambdas/schema/columns.ts';
import { EXAMPLE_QUERIES } from '../../lambdas/schema/example-queries.ts';
import { REFERENCE_OBJECTS } from '../../lambdas/regions/reference-objects.ts';
import {
  DEFAULT_INGEST_MAX_CONCURRENCY,
  INGEST_MEMORY_MB,
  INGEST_SERVICE_NAME,
  INGEST_TIMEOUT,
  MAX_RECEIVE_COUNT,
  MAX_UPLOAD_BYTES,
  METRICS_NAMESPACE,
} from '../../lib/ingest-pipeline.ts';
import { DEFAULT_FIRST_YEAR, DEFAULT_LAST_YEAR } from '../../lib/partition-projection.ts';
import { DEFAULT_BYTES_SCANNED_CUTOFF, JSON_SERDE } from '../../lib/query-layer.ts';
import { flatten } from './policy.ts';
import { logicalId, synthesize } from './synth.ts';

vi.setConfig({ testTimeout: 60_000 });

// Once per file: bundling runs esbuild.
const { stack, assembly, template } = synthesize({ bundle: true });

const id = {
  raw: logicalId(stack.storage.rawBucket),
  lake: logicalId(stack.storage.lakeBucket),
  results: logicalId(stack.storage.athenaResultsBucket),
  logs: logicalId(stack.storage.accessLogsBucket),
  queue: logicalId(stack.ingest.queue),
  deadLetterQueue: logicalId(stack.ingest.deadLetterQueue),
  function: logicalId(stack.ingest.function),
  topic: logicalId(stack.alarms.topic),
};

interface Resource {
  Type: string;
  Properties: Record<string, unknown>;
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
}

function resource(resourceId: string): Resource {
  const found = (template.toJSON().Resources as Record<string, Resource>)[resourceId];
  if (found === undefined) throw new Error(`No resource ${resourceId}`);
  return found;
}

describe('storage', () => {
  it('blocks public access and encrypts every bucket', () => {
    template.allResourcesProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
    });
  });

  it('keeps raw and lake when the stack is deleted', () => {
    for (const bucket of [id.raw, id.lake]) {
      expect(resource(bucket)).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    }
  });

  it('versions the raw bucket, so an overwritten export is never lost', () => {
    expect(resource(id.raw).Properties.VersioningConfiguration).toEqual({ Status: 'Enabled' });
  });

  it('expires Athena results', () => {
    const lifecycle = resource(id.results).Properties.LifecycleConfiguration as { Rules: unknown[] };
    expect(lifecycle.Rules).toContainEqual(expect.objectContaining({ ExpirationInDays: expect.any(Number), Status: 'Enabled' }));
  });

  it('logs access to raw, lake and results in the access log bucket', () => {
    for (const bucket of [id.raw, id.lake, id.results]) {
      expect(resource(bucket).Properties.LoggingConfiguration).toMatchObject({
        DestinationBucketName: { Ref: id.logs },
      });
    }
  });
});

describe('ingest pipeline', () => {
  it('sends every ObjectCreated event of the raw bucket to the ingest queue', () => {
    template.hasResourceProperties('Custom::S3BucketNotifications', {
      BucketName: { Ref: id.raw },
      NotificationConfiguration: {
        QueueConfigurations: [{ Events: ['s3:ObjectCreated:*'], QueueArn: { 'Fn::GetAtt': [id.queue, 'Arn'] } }],
      },
    });
  });

  it('lets only the raw bucket, of this account, send to the queue', () => {
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: id.queue }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 's3.amazonaws.com' },
            Action: Match.arrayWith(['sqs:SendMessage']),
            Condition: {
              ArnLike: { 'aws:SourceArn': { 'Fn::GetAtt': [id.raw, 'Arn'] } },
              StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
            },
          }),
        ]),
      },
    });
  });

  it('parks a message in the dead-letter queue after five receives', () => {
    expect(MAX_RECEIVE_COUNT).toBe(5);
    expect(resource(id.queue).Properties.RedrivePolicy).toEqual({
      deadLetterTargetArn: { 'Fn::GetAtt': [id.deadLetterQueue, 'Arn'] },
      maxReceiveCount: 5,
    });
  });

  it('hides a message for at least six function timeouts', () => {
    const visibility = resource(id.queue).Properties.VisibilityTimeout as number;
    const timeout = resource(id.function).Properties.Timeout as number;
    expect(visibility).toBeGreaterThanOrEqual(6 * timeout);
  });

  it('encrypts both queues and refuses plain-HTTP requests to them', () => {
    for (const queue of [id.queue, id.deadLetterQueue]) {
      expect(resource(queue).Properties.SqsManagedSseEnabled).toBe(true);
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: queue }],
        PolicyDocument: {
          Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]),
        },
      });
    }
  });

  it('feeds the queue to the function with partial batch responses', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [id.queue, 'Arn'] },
      FunctionName: { Ref: id.function },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  it("caps the concurrent ingest invocations, so a bulk upload cannot take the account's Lambda concurrency", () => {
    expect(DEFAULT_INGEST_MAX_CONCURRENCY).toBe(5);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [id.queue, 'Arn'] },
      ScalingConfig: { MaximumConcurrency: 5 },
    });
  });

  it('runs the handler on the current Node.js runtime, arm64, with the sized memory and timeout', () => {
    expect(resource(id.function).Properties).toMatchObject({
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      MemorySize: INGEST_MEMORY_MB,
      Timeout: INGEST_TIMEOUT.toSeconds(),
    });
  });

  it('configures the handler and Powertools through the environment', () => {
    expect(resource(id.function).Properties.Environment).toEqual({
      Variables: {
        LAKE_BUCKET: { Ref: id.lake },
        MAX_UPLOAD_BYTES: String(MAX_UPLOAD_BYTES),
        POWERTOOLS_SERVICE_NAME: 'navlake-ingest',
        POWERTOOLS_METRICS_NAMESPACE: 'navlake',
        POWERTOOLS_LOG_LEVEL: 'INFO',
        PROJECTED_YEARS: '2015-2035',
      },
    });
    // 4 MiB: sized by the bench's worst cases (lambda.peak_rss_mb_worst, lambda.seconds_worst).
    expect(MAX_UPLOAD_BYTES).toBe(4_194_304);
  });

  it('logs to its own log group with a retention', () => {
    const logGroup = logicalId(stack.ingest.function.logGroup);
    expect(resource(id.function).Properties.LoggingConfig).toEqual({ LogGroup: { Ref: logGroup } });
    expect(resource(logGroup).Properties.RetentionInDays).toEqual(expect.any(Number));
  });

  it('bundles the handler and its S3 client as one minified ES module under 500 KB, without source map', () => {
    const code = resource(id.function).Properties.Code as { S3Key: string };
    const assetHash = code.S3Key.replace(/\.zip$/, '');
    const manifest = JSON.parse(readFileSync(join(assembly.directory, 'Navlake.assets.json'), 'utf8')) as {
      files: Record<string, { source: { path: string; packaging: string } }>;
    };
    const asset = manifest.files[assetHash]?.source;
    expect(asset?.packaging).toBe('zip');
    const assetDir = join(assembly.directory, asset?.path ?? '');
    expect(readdirSync(assetDir)).toEqual(['index.mjs']);
    const bundle = readFileSync(join(assetDir, 'index.mjs'), 'utf8');
    expect(bundle.startsWith("import { createRequire } from 'node:module';")).toBe(true);
    expect(bundle).not.toContain('sourceMappingURL');
    // The bundled S3 client brings its package name (for the user agent); the bench's bundle-size goal is 500 KB.
    expect(bundle).toMatch(/["']?name["']?:\s*["']@aws-sdk\/client-s3/);
    expect(Buffer.byteLength(bundle)).toBeLessThan(500 * 1024);
    expect(existsSync(join(assetDir, 'node_modules'))).toBe(false);
  });
});

describe('Glue tables', () => {
  const tables = Object.values(template.findResources('AWS::Glue::Table'));
  const tableInput = (table: TableDef): Record<string, unknown> => {
    const found = tables.find((t) => (t.Properties?.TableInput as { Name?: string } | undefined)?.Name === table.name);
    if (found === undefined) throw new Error(`No Glue table ${table.name}`);
    expect(found.Properties?.DatabaseName).toEqual({ Ref: logicalId(stack.query.database) });
    return found.Properties?.TableInput as Record<string, unknown>;
  };
  const schemaColumns = (columns: readonly ColumnDef[]): unknown[] =>
    columns.map((c) => ({ Name: c.name, Type: glueType(c), Comment: c.description }));

  it('live in the database navlake', () => {
    template.hasResourceProperties('AWS::Glue::Database', { DatabaseInput: { Name: 'navlake' } });
  });

  it.each([OBSERVATIONS_TABLE, INGESTIONS_TABLE, ...REFERENCE_TABLES])(
    '$name: columns and partition keys are the schema module',
    (table) => {
      const input = tableInput(table);
      const storage = input.StorageDescriptor as Record<string, unknown>;
      expect(storage.Columns).toEqual(schemaColumns(dataColumns(table)));
      expect(input.PartitionKeys).toEqual(schemaColumns(partitionColumns(table)));
      // Glue refuses column comments over 255 characters.
      for (const column of table.columns) expect(column.description.length).toBeLessThanOrEqual(255);
    },
  );

  it.each([OBSERVATIONS_TABLE, INGESTIONS_TABLE])('$name: read with the Hive JSON SerDe from its lake prefix', (table) => {
    const storage = tableInput(table).StorageDescriptor as Record<string, unknown>;
    expect(storage.SerdeInfo).toEqual({ SerializationLibrary: JSON_SERDE });
    expect(JSON_SERDE).toBe('org.apache.hive.hcatalog.data.JsonSerDe');
    expect(storage.InputFormat).toBe('org.apache.hadoop.mapred.TextInputFormat');
    expect(flatten(storage.Location)).toBe(`s3://<${id.lake}>/${table.prefix}`);
  });

  it('observations: partitioned by int year and month, gzip', () => {
    const input = tableInput(OBSERVATIONS_TABLE);
    expect(input.PartitionKeys).toEqual([
      expect.objectContaining({ Name: 'year', Type: 'int' }),
      expect.objectContaining({ Name: 'month', Type: 'int' }),
    ]);
    expect((input.StorageDescriptor as Record<string, unknown>).Compressed).toBe(true);
    expect(input.Parameters).toMatchObject({ classification: 'json', compressionType: 'gzip' });
  });

  it('observations: partition projection, so new months need no crawler and no MSCK', () => {
    const parameters = tableInput(OBSERVATIONS_TABLE).Parameters as Record<string, unknown>;
    expect(parameters).toMatchObject({
      'projection.enabled': 'true',
      'projection.year.type': 'integer',
      'projection.year.range': '2015,2035',
      'projection.month.type': 'integer',
      'projection.month.range': '1,12',
      'projection.month.digits': '2',
    });
    const locationTemplate = flatten(parameters['storage.location.template']);
    expect(locationTemplate).toBe(`s3://<${id.lake}>/observations/year=\${year}/month=\${month}/`);
    expect(locationTemplate.endsWith('/')).toBe(true);
    // The projected location of a partition is exactly where the handler writes it.
    const projected = locationTemplate.replace(`$${'{year}'}`, '2019').replace(`$${'{month}'}`, '01');
    expect(projected).toBe(`s3://<${id.lake}>/${observationPartitionPrefix(2019, 1)}`);
  });

  it('observations: an unfiltered query lists 252 projected prefixes (2015-2035 x 12 months), not 1,332', () => {
    const parameters = tableInput(OBSERVATIONS_TABLE).Parameters as Record<string, string>;
    const span = (key: string): number => {
      const [low, high] = (parameters[`projection.${key}.range`] ?? '').split(',').map(Number);
      if (low === undefined || high === undefined || !(high >= low)) throw new Error(`bad range for ${key}`);
      return high - low + 1;
    };
    expect([DEFAULT_FIRST_YEAR, DEFAULT_LAST_YEAR]).toEqual([2015, 2035]);
    expect(span('year') * span('month')).toBe(252);
  });

  it('observations: the projection still reaches at least three years past today', () => {
    // An object past the last projected year is written but never read by Athena: raise DEFAULT_LAST_YEAR (and
    // redeploy) before this fails.
    expect(DEFAULT_LAST_YEAR).toBeGreaterThanOrEqual(new Date().getUTCFullYear() + 3);
  });

  it.each([INGESTIONS_TABLE, ...REFERENCE_TABLES])('$name: unpartitioned, uncompressed, no projection', (table) => {
    const input = tableInput(table);
    expect(input.PartitionKeys).toEqual([]);
    const parameters = input.Parameters as Record<string, string>;
    expect(Object.keys(parameters).filter((k) => k.startsWith('projection.') || k.startsWith('storage.'))).toEqual([]);
    expect(parameters.compressionType).toBe('none');
  });
});

describe('reference tables', () => {
  it.each(REFERENCE_OBJECTS)('$key: deployed into the lake from the bodies the local lake writes', (object) => {
    const deployments = Object.values(template.findResources('Custom::CDKBucketDeployment'));
    const deployment = deployments.find((d) => d.Properties?.DestinationBucketKeyPrefix === object.table.prefix);
    expect(deployment?.Properties).toMatchObject({
      DestinationBucketName: { Ref: logicalId(stack.storage.lakeBucket) },
      Prune: true,
      RetainOnDelete: true,
    });
    // Source.data stages the body as a zip asset holding exactly the one file, byte for byte.
    const manifest = JSON.parse(readFileSync(join(assembly.directory, 'Navlake.assets.json'), 'utf8')) as {
      files: Record<string, { source: { path: string } }>;
    };
    const keys = deployment?.Properties?.SourceObjectKeys as string[];
    expect(keys).toHaveLength(1);
    const asset = manifest.files[(keys[0] ?? '').replace(/\.zip$/, '')]?.source.path ?? '';
    expect(readdirSync(join(assembly.directory, asset))).toEqual([object.fileName]);
    expect(readFileSync(join(assembly.directory, asset, object.fileName), 'utf8')).toBe(object.body);
  });
});

describe('Athena', () => {
  const workGroupId = logicalId(stack.query.workGroup);

  it('workgroup navlake enforces engine 3, encrypted results, a cutoff and CloudWatch metrics', () => {
    template.hasResourceProperties('AWS::Athena::WorkGroup', {
      Name: 'navlake',
      WorkGroupConfiguration: {
        EnforceWorkGroupConfiguration: true,
        EngineVersion: { SelectedEngineVersion: 'Athena engine version 3' },
        BytesScannedCutoffPerQuery: DEFAULT_BYTES_SCANNED_CUTOFF,
        PublishCloudWatchMetricsEnabled: true,
        ResultConfiguration: Match.objectLike({ EncryptionConfiguration: { EncryptionOption: 'SSE_S3' } }),
      },
    });
    expect(DEFAULT_BYTES_SCANNED_CUTOFF).toBe(1024 ** 3);
    const configuration = resource(workGroupId).Properties.WorkGroupConfiguration as {
      ResultConfiguration: { OutputLocation: unknown };
    };
    expect(flatten(configuration.ResultConfiguration.OutputLocation)).toBe(`s3://<${id.results}>/results/`);
  });

  it('saves one named query per example query', () => {
    const named = Object.values(template.findResources('AWS::Athena::NamedQuery')).map((q) => q.Properties);
    expect(named).toHaveLength(EXAMPLE_QUERIES.length);
    for (const query of EXAMPLE_QUERIES) {
      expect(named).toContainEqual({
        Name: query.id,
        Description: query.question,
        QueryString: query.sql,
        Database: { Ref: logicalId(stack.query.database) },
        WorkGroup: { Ref: workGroupId },
      });
    }
  });
});

describe('outputs', () => {
  const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
  const output = (name: string): string => flatten(outputs[name]?.Value);

  it('give the upload bucket, workgroup, database and results location', () => {
    expect(output('RawBucketName')).toBe(`<${id.raw}>`);
    expect(output('AthenaWorkGroup')).toBe(`<${logicalId(stack.query.workGroup)}>`);
    expect(output('GlueDatabase')).toBe(`<${logicalId(stack.query.database)}>`);
    expect(output('AthenaResultsLocation')).toBe(`s3://<${id.results}>/results/`);
    expect(output('BiReaderPolicyArn')).toBe(`<${logicalId(stack.bi.readerPolicy)}>`);
  });

  it('give the Athena JDBC URL and ODBC connection string', () => {
    expect(output('AthenaJdbcUrl')).toBe('jdbc:athena://Region=<AWS::Region>;WorkGroup=navlake;Catalog=AwsDataCatalog;Schema=navlake');
    expect(output('AthenaOdbcConnectionString')).toBe(
      `AwsRegion=<AWS::Region>;Workgroup=navlake;Catalog=AwsDataCatalog;Schema=navlake;S3OutputLocation=s3://<${id.results}>/results/;`,
    );
  });
});

describe('alarms', () => {
  const alarmActions = [{ Ref: id.topic }];

  it('on messages in the dead-letter queue', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [id.deadLetterQueue, 'QueueName'] } }],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      AlarmActions: alarmActions,
    });
  });

  it('on ingest function errors', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: id.function } }],
      AlarmActions: alarmActions,
    });
  });

  it('on rejected uploads (the FilesRejected metric the handler emits)', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: METRICS_NAMESPACE,
      MetricName: 'FilesRejected',
      Dimensions: [{ Name: 'service', Value: INGEST_SERVICE_NAME }],
      Statistic: 'Sum',
      AlarmActions: alarmActions,
    });
    expect([METRICS_NAMESPACE, INGEST_SERVICE_NAME]).toEqual(['navlake', 'navlake-ingest']);
  });

  it('topic refuses plain HTTP and has no subscription unless alarmEmail is set', () => {
    template.resourceCountIs('AWS::SNS::Subscription', 0);
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: id.topic }],
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]),
      },
    });
  });
});

describe('context settings', () => {
  // Only the template matters here, so esbuild is skipped.
  const configured = synthesize({
    bundle: false,
    context: { bytesScannedCutoff: '2000000000', alarmEmail: 'ops@example.com' },
  });

  it('bytesScannedCutoff sets the per-query cutoff (a string from `-c` is accepted)', () => {
    configured.template.hasResourceProperties('AWS::Athena::WorkGroup', {
      WorkGroupConfiguration: Match.objectLike({ BytesScannedCutoffPerQuery: 2_000_000_000 }),
    });
  });

  it('alarmEmail subscribes the address to the alarm topic', () => {
    configured.template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
      TopicArn: { Ref: logicalId(configured.stack.alarms.topic) },
    });
  });

  it('ingestMaxConcurrency and projectionFirstYear/LastYear come from the context, or from stack props', () => {
    const fromContext = synthesize({
      bundle: false,
      context: { ingestMaxConcurrency: '20', projectionFirstYear: '2018', projectionLastYear: 2030 },
    });
    fromContext.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', { ScalingConfig: { MaximumConcurrency: 20 } });
    fromContext.template.hasResourceProperties('AWS::Glue::Table', {
      TableInput: Match.objectLike({ Name: 'observations', Parameters: Match.objectLike({ 'projection.year.range': '2018,2030' }) }),
    });
    // The function warns about values outside the very years the table projects.
    fromContext.template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ PROJECTED_YEARS: '2018-2030' }) },
    });
    const fromProps = synthesize({ bundle: false, props: { ingestMaxConcurrency: 2, projectionFirstYear: 2016 } });
    fromProps.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', { ScalingConfig: { MaximumConcurrency: 2 } });
    fromProps.template.hasResourceProperties('AWS::Glue::Table', {
      TableInput: Match.objectLike({ Name: 'observations', Parameters: Match.objectLike({ 'projection.year.range': '2016,2035' }) }),
    });
  });

  it('rejects a concurrency Lambda would refuse and a reversed year range', () => {
    expect(() => synthesize({ bundle: false, context: { ingestMaxConcurrency: '1' } })).toThrow(/maxConcurrency/);
    expect(() => synthesize({ bundle: false, context: { ingestMaxConcurrency: 'many' } })).toThrow(/ingestMaxConcurrency/);
    expect(() => synthesize({ bundle: false, context: { projectionFirstYear: '2040' } })).toThrow(/Projected years/);
  });

  it('rejects a cutoff Athena would refuse, and a malformed e-mail address', () => {
    expect(() => synthesize({ bundle: false, context: { bytesScannedCutoff: '1000' } })).toThrow(/bytesScannedCutoff/);
    expect(() => synthesize({ bundle: false, context: { bytesScannedCutoff: 'lots' } })).toThrow(/bytesScannedCutoff/);
    expect(() => synthesize({ bundle: false, context: { alarmEmail: 'not-an-address' } })).toThrow(/alarmEmail/);
  });
});
