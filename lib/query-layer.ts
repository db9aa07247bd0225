import { Aws, Stack } from 'aws-cdk-lib';
import { CfnNamedQuery, CfnWorkGroup } from 'aws-cdk-lib/aws-athena';
import { CfnDatabase, CfnTable } from 'aws-cdk-lib/aws-glue';
import type { Bucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { EXAMPLE_QUERIES } from '../lambdas/schema/example-queries.ts';
import {
  INGESTIONS_TABLE,
  OBSERVATIONS_TABLE,
  REFERENCE_TABLES,
  dataColumns,
  glueType,
  partitionColumns,
  type ColumnDef,
  type TableDef,
} from '../lambdas/schema/columns.ts';
import { type IntegerProjection, observationsProjection } from './partition-projection.ts';
import { ATHENA_RESULTS_PREFIX } from './storage.ts';

export const GLUE_DATABASE_NAME = 'navlake';
export const ATHENA_WORKGROUP_NAME = 'navlake';
export const ATHENA_CATALOG_NAME = 'AwsDataCatalog';

/** 1 GiB: a runaway query over the whole lake stops here instead of on the bill. */
export const DEFAULT_BYTES_SCANNED_CUTOFF = 1024 ** 3;
/** Athena refuses smaller cutoffs. */
export const MIN_BYTES_SCANNED_CUTOFF = 10_000_000;

/** The Hive SerDe reads the NDJSON the handler writes; it needs no per-column configuration (unlike the OpenX one). */
export const JSON_SERDE = 'org.apache.hive.hcatalog.data.JsonSerDe';
const TEXT_INPUT_FORMAT = 'org.apache.hadoop.mapred.TextInputFormat';
const TEXT_OUTPUT_FORMAT = 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat';

export interface QueryLayerProps {
  readonly lakeBucket: Bucket;
  readonly athenaResultsBucket: Bucket;
  /** Per-query limit of the workgroup, in bytes. */
  readonly bytesScannedCutoff: number;
  /** First year Athena looks for in observations (partition projection); default DEFAULT_FIRST_YEAR. */
  readonly firstYear?: number;
  /** Last year Athena looks for in observations; default DEFAULT_LAST_YEAR. */
  readonly lastYear?: number;
}

/** Glue catalog (database `navlake`, tables generated from the schema module) and the Athena workgroup `navlake`. */
export class QueryLayer extends Construct {
  readonly database: CfnDatabase;
  readonly observationsTable: CfnTable;
  readonly ingestionsTable: CfnTable;
  /** `regions` and `region_groups`, in REFERENCE_TABLES order. */
  readonly referenceTables: CfnTable[];
  readonly workGroup: CfnWorkGroup;
  /**
   * How Athena enumerates each partition key of observations, so that a new month is queryable the moment its object
   * exists (no crawler, no MSCK REPAIR).
   */
  readonly projection: Readonly<Record<string, IntegerProjection>>;
  /** `s3://<results bucket>/results/`. */
  readonly resultsLocation: string;

  readonly catalogArn: string;
  readonly databaseArn: string;
  readonly tableArns: string[];
  readonly dataCatalogArn: string;
  readonly workGroupArn: string;

  constructor(scope: Construct, id: string, props: QueryLayerProps) {
    super(scope, id);
    const { lakeBucket, athenaResultsBucket, bytesScannedCutoff } = props;
    if (!Number.isSafeInteger(bytesScannedCutoff) || bytesScannedCutoff < MIN_BYTES_SCANNED_CUTOFF) {
      throw new Error(
        `bytesScannedCutoff must be a whole number of bytes, at least ${MIN_BYTES_SCANNED_CUTOFF}; got ${bytesScannedCutoff}`,
      );
    }

    this.database = new CfnDatabase(this, 'Database', {
      catalogId: Aws.ACCOUNT_ID,
      databaseInput: { name: GLUE_DATABASE_NAME, description: 'navlake: NAV monthly statistics, one row per value.' },
    });

    this.projection = observationsProjection(props.firstYear, props.lastYear);
    const observationsLocation = lakeBucket.s3UrlForObject(OBSERVATIONS_TABLE.prefix);
    this.observationsTable = new CfnTable(this, 'ObservationsTable', {
      catalogId: Aws.ACCOUNT_ID,
      databaseName: this.database.ref,
      tableInput: jsonTableInput(OBSERVATIONS_TABLE, observationsLocation, {
        compressed: true,
        parameters: partitionProjection(OBSERVATIONS_TABLE, observationsLocation, this.projection),
      }),
    });

    // Unpartitioned: one small record per upload, read whole.
    this.ingestionsTable = new CfnTable(this, 'IngestionsTable', {
      catalogId: Aws.ACCOUNT_ID,
      databaseName: this.database.ref,
      tableInput: jsonTableInput(INGESTIONS_TABLE, lakeBucket.s3UrlForObject(INGESTIONS_TABLE.prefix), {
        compressed: false,
        parameters: {},
      }),
    });

    // Unpartitioned and uncompressed: one small NDJSON object each, deployed with the stack (lib/reference-data.ts).
    this.referenceTables = REFERENCE_TABLES.map(
      (table) =>
        new CfnTable(this, `${pascal(table.name)}Table`, {
          catalogId: Aws.ACCOUNT_ID,
          databaseName: this.database.ref,
          tableInput: jsonTableInput(table, lakeBucket.s3UrlForObject(table.prefix), { compressed: false, parameters: {} }),
        }),
    );

    this.resultsLocation = athenaResultsBucket.s3UrlForObject(ATHENA_RESULTS_PREFIX);
    this.workGroup = new CfnWorkGroup(this, 'WorkGroup', {
      name: ATHENA_WORKGROUP_NAME,
      description: 'navlake: queries on the NAV statistics lake',
      state: 'ENABLED',
      // Lets `cdk destroy` remove the workgroup together with its query history.
      recursiveDeleteOption: true,
      workGroupConfiguration: {
        // Clients cannot override the result location, encryption or cutoff below.
        enforceWorkGroupConfiguration: true,
        engineVersion: { selectedEngineVersion: 'Athena engine version 3' },
        bytesScannedCutoffPerQuery: bytesScannedCutoff,
        publishCloudWatchMetricsEnabled: true,
        requesterPaysEnabled: false,
        resultConfiguration: {
          outputLocation: this.resultsLocation,
          expectedBucketOwner: Aws.ACCOUNT_ID,
          encryptionConfiguration: { encryptionOption: 'SSE_S3' },
        },
      },
    });

    const namedQueries = new Construct(this, 'NamedQueries');
    for (const query of EXAMPLE_QUERIES) {
      new CfnNamedQuery(namedQueries, query.id, {
        name: query.id,
        description: query.question,
        database: this.database.ref,
        workGroup: this.workGroup.ref,
        queryString: query.sql,
      });
    }

    const stack = Stack.of(this);
    this.catalogArn = stack.formatArn({ service: 'glue', resource: 'catalog' });
    this.databaseArn = stack.formatArn({ service: 'glue', resource: 'database', resourceName: GLUE_DATABASE_NAME });
    this.tableArns = [OBSERVATIONS_TABLE, INGESTIONS_TABLE, ...REFERENCE_TABLES].map((table) =>
      stack.formatArn({ service: 'glue', resource: 'table', resourceName: `${GLUE_DATABASE_NAME}/${table.name}` }),
    );
    this.dataCatalogArn = stack.formatArn({
      service: 'athena',
      resource: 'datacatalog',
      resourceName: ATHENA_CATALOG_NAME,
    });
    this.workGroupArn = stack.formatArn({
      service: 'athena',
      resource: 'workgroup',
      resourceName: ATHENA_WORKGROUP_NAME,
    });
  }
}

function jsonTableInput(
  table: TableDef,
  location: string,
  options: { compressed: boolean; parameters: Record<string, string> },
): CfnTable.TableInputProperty {
  return {
    name: table.name,
    description: table.description,
    tableType: 'EXTERNAL_TABLE',
    parameters: {
      EXTERNAL: 'TRUE',
      classification: 'json',
      compressionType: options.compressed ? 'gzip' : 'none',
      ...options.parameters,
    },
    partitionKeys: partitionColumns(table).map(glueColumn),
    storageDescriptor: {
      location,
      columns: dataColumns(table).map(glueColumn),
      inputFormat: TEXT_INPUT_FORMAT,
      outputFormat: TEXT_OUTPUT_FORMAT,
      compressed: options.compressed,
      serdeInfo: { serializationLibrary: JSON_SERDE },
    },
  };
}

/** `region_groups` -> `RegionGroups`, for construct ids. */
function pascal(name: string): string {
  return name.replace(/(^|_)([a-z])/g, (_, _sep: string, c: string) => c.toUpperCase());
}

function glueColumn(column: ColumnDef): CfnTable.ColumnProperty {
  return { name: column.name, type: glueType(column), comment: column.description };
}

/** Partition projection table parameters for `table`, whose data lives below `location` (ending in `/`). */
function partitionProjection(
  table: TableDef,
  location: string,
  projections: Readonly<Record<string, IntegerProjection>>,
): Record<string, string> {
  const keys = partitionColumns(table);
  const parameters: Record<string, string> = { 'projection.enabled': 'true' };
  for (const key of keys) {
    const projection = projections[key.name];
    if (projection === undefined) throw new Error(`No partition projection for ${table.name}.${key.name}`);
    if (glueType(key) !== 'int' && glueType(key) !== 'bigint') {
      throw new Error(`Partition key ${table.name}.${key.name} is ${glueType(key)}; only integer projection is set up`);
    }
    parameters[`projection.${key.name}.type`] = 'integer';
    parameters[`projection.${key.name}.range`] = projection.range.join(',');
    if (projection.digits !== undefined) parameters[`projection.${key.name}.digits`] = String(projection.digits);
  }
  // Hive-style `key=value/` segments, as lambdas/lake/layout.ts writes them. Athena lists the template as a key
  // prefix: without the trailing `/` a partition would also read any key that merely starts like it.
  const path = keys.map((key) => `${key.name}=\${${key.name}}/`).join('');
  parameters['storage.location.template'] = `${location}${path}`;
  return parameters;
}
