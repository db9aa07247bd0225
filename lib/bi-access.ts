import { Stack, Validations } from 'aws-cdk-lib';
import { Effect, ManagedPolicy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { Bucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { INGESTIONS_TABLE, OBSERVATIONS_TABLE, REGION_GROUPS_TABLE, REGIONS_TABLE } from '../lambdas/schema/columns.ts';
import { acknowledgeObjectWildcards } from './nag.ts';
import { ATHENA_CATALOG_NAME, ATHENA_WORKGROUP_NAME, GLUE_DATABASE_NAME, type QueryLayer } from './query-layer.ts';
import { ATHENA_RESULTS_PREFIX } from './storage.ts';

/**
 * Athena list actions that have no resource type: IAM only evaluates them against `*`. The JDBC 3.x and ODBC 2.x
 * drivers and QuickSight call them to fill their catalog and workgroup pickers (compare AWSQuicksightAthenaAccess);
 * without them a BI tool cannot even show the navlake catalog. They reveal names and engine versions, no data.
 */
export const ACCOUNT_WIDE_LIST_ACTIONS = ['athena:ListDataCatalogs', 'athena:ListWorkGroups', 'athena:ListEngineVersions'] as const;

/** Lake prefixes behind the Glue tables; a BI reader sees these and nothing else of the lake (not `rejected/`). */
export const BI_READ_PREFIXES = [
  OBSERVATIONS_TABLE.prefix,
  INGESTIONS_TABLE.prefix,
  REGIONS_TABLE.prefix,
  REGION_GROUPS_TABLE.prefix,
] as const;

export interface BiAccessProps {
  readonly queryLayer: QueryLayer;
  readonly lakeBucket: Bucket;
  readonly athenaResultsBucket: Bucket;
}

/**
 * What a BI tool needs to query the lake: a managed policy for its user or role (Athena in the navlake workgroup,
 * the navlake tables, the results prefix) and the connection values for the Athena JDBC and ODBC drivers.
 */
export class BiAccess extends Construct {
  /** Attach to the IAM user or role of a BI tool. */
  readonly readerPolicy: ManagedPolicy;
  /** Athena JDBC 3.x driver URL. */
  readonly jdbcUrl: string;
  /** Athena ODBC 2.x driver connection string, without the Driver= and authentication parts. */
  readonly odbcConnectionString: string;

  constructor(scope: Construct, id: string, props: BiAccessProps) {
    super(scope, id);
    const { queryLayer, lakeBucket, athenaResultsBucket } = props;

    this.readerPolicy = new ManagedPolicy(this, 'ReaderPolicy', {
      description: 'navlake BI reader: query the navlake Athena workgroup, read the lake tables',
      statements: [
        new PolicyStatement({
          sid: 'QueryInWorkgroup',
          effect: Effect.ALLOW,
          actions: [
            'athena:StartQueryExecution',
            'athena:StopQueryExecution',
            'athena:GetQueryExecution',
            'athena:GetQueryResults',
            'athena:GetQueryResultsStream',
            'athena:GetQueryRuntimeStatistics',
            'athena:ListQueryExecutions',
            'athena:BatchGetQueryExecution',
            'athena:GetWorkGroup',
            'athena:ListNamedQueries',
            'athena:GetNamedQuery',
            'athena:BatchGetNamedQuery',
          ],
          resources: [queryLayer.workGroupArn],
        }),
        new PolicyStatement({
          // The JDBC/ODBC drivers list schemas and tables through Athena's metadata API.
          sid: 'BrowseCatalog',
          effect: Effect.ALLOW,
          actions: [
            'athena:GetDataCatalog',
            'athena:ListDatabases',
            'athena:GetDatabase',
            'athena:ListTableMetadata',
            'athena:GetTableMetadata',
          ],
          resources: [queryLayer.dataCatalogArn],
        }),
        new PolicyStatement({
          sid: 'ListCatalogsAndWorkgroups',
          effect: Effect.ALLOW,
          actions: [...ACCOUNT_WIDE_LIST_ACTIONS],
          resources: ['*'],
        }),
        new PolicyStatement({
          // Glue filters GetDatabases and GetTables down to the databases and tables granted here, so a driver listing
          // schemas or tables (directly in Glue, as the JDBC/ODBC drivers do for AwsDataCatalog) sees navlake only.
          sid: 'ReadTableDefinitions',
          effect: Effect.ALLOW,
          actions: [
            'glue:GetDatabase',
            'glue:GetDatabases',
            'glue:GetTable',
            'glue:GetTables',
            'glue:GetPartition',
            'glue:GetPartitions',
            'glue:BatchGetPartition',
          ],
          resources: [queryLayer.catalogArn, queryLayer.databaseArn, ...queryLayer.tableArns],
        }),
        new PolicyStatement({
          sid: 'ReadTableData',
          effect: Effect.ALLOW,
          actions: ['s3:GetObject'],
          resources: BI_READ_PREFIXES.map((prefix) => lakeBucket.arnForObjects(`${prefix}*`)),
        }),
        new PolicyStatement({
          sid: 'ListTableData',
          effect: Effect.ALLOW,
          actions: ['s3:ListBucket'],
          resources: [lakeBucket.bucketArn],
          conditions: { StringLike: { 's3:prefix': BI_READ_PREFIXES.map((prefix) => `${prefix}*`) } },
        }),
        new PolicyStatement({
          sid: 'WriteQueryResults',
          effect: Effect.ALLOW,
          actions: ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
          resources: [athenaResultsBucket.arnForObjects(`${ATHENA_RESULTS_PREFIX}*`)],
        }),
        new PolicyStatement({
          sid: 'ListQueryResults',
          effect: Effect.ALLOW,
          actions: ['s3:ListBucket'],
          resources: [athenaResultsBucket.bucketArn],
          conditions: { StringLike: { 's3:prefix': [`${ATHENA_RESULTS_PREFIX}*`] } },
        }),
        new PolicyStatement({
          sid: 'LocateBuckets',
          effect: Effect.ALLOW,
          actions: ['s3:GetBucketLocation'],
          resources: [lakeBucket.bucketArn, athenaResultsBucket.bucketArn],
        }),
      ],
    });
    Validations.of(this.readerPolicy).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'athena:ListDataCatalogs, ListWorkGroups and ListEngineVersions have no resource type, so IAM evaluates them ' +
        'against * only; BI drivers call them to list catalogs and workgroups. They return names, not data.',
    });
    acknowledgeObjectWildcards(
      this.readerPolicy,
      lakeBucket,
      BI_READ_PREFIXES,
      'Athena reads every object below a table location; the objects are named by dataset and period.',
    );
    acknowledgeObjectWildcards(
      this.readerPolicy,
      athenaResultsBucket,
      [ATHENA_RESULTS_PREFIX],
      'Athena names each result object after its query execution id.',
    );

    const region = Stack.of(this).region;
    this.jdbcUrl =
      `jdbc:athena://Region=${region};WorkGroup=${ATHENA_WORKGROUP_NAME};` + `Catalog=${ATHENA_CATALOG_NAME};Schema=${GLUE_DATABASE_NAME}`;
    this.odbcConnectionString =
      `AwsRegion=${region};Workgroup=${ATHENA_WORKGROUP_NAME};Catalog=${ATHENA_CATALOG_NAME};` +
      `Schema=${GLUE_DATABASE_NAME};S3OutputLocation=${queryLayer.resultsLocation};`;
  }
}
