/**
 * Settings the stack hands the ingest function and the function falls back to: kept in one place so that the alarm
 * on FilesRejected (lib/) and the metrics the handler emits cannot drift apart.
 */

/**
 * The handler refuses larger uploads instead of running out of memory or time on them. Sized by `npm run bench`
 * (lambda.peak_rss_mb_worst, lambda.seconds_worst): the worst upload it accepts must use at most half the function's
 * memory and timeout. The 2019 sample is 40 KB; a ten-year series of the same table about 0.5 MB.
 */
export const DEFAULT_MAX_UPLOAD_BYTES = 4 * 1024 * 1024;
/** Memory of the ingest function, in MB (also buys CPU: parsing and gzip are CPU-bound). */
export const INGEST_MEMORY_MB = 1024;
/** Time the ingest function has for one upload. */
export const INGEST_TIMEOUT_SECONDS = 300;
/** Powertools service name: the `service` dimension of the ingest metrics. */
export const INGEST_SERVICE_NAME = 'navlake-ingest';
/** CloudWatch namespace of the metrics the handler emits. */
export const METRICS_NAMESPACE = 'navlake';
