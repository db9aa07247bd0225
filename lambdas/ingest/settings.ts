/**
 * Settings the stack hands the ingest function and the function falls back to: kept in one place so that the alarm
 * on FilesRejected (lib/) and the metrics the handler emits cannot drift apart.
 */

/** The handler refuses larger uploads instead of running out of memory on them. */
export const DEFAULT_MAX_UPLOAD_BYTES = 100 * 1024 * 1024;
/** Powertools service name: the `service` dimension of the ingest metrics. */
export const INGEST_SERVICE_NAME = 'navlake-ingest';
/** CloudWatch namespace of the metrics the handler emits. */
export const METRICS_NAMESPACE = 'navlake';
