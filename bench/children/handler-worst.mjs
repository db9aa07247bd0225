// The deployed bundle in a fresh process, as Lambda runs it, on one upload: report the process's peak memory
// (VmHWM, as Lambda's "Max Memory Used") and the time the handler took. S3 endpoint and bucket come from the env.
import { readFileSync } from 'node:fs';

const [bundle, eventJson] = process.argv.slice(2);
const { handler } = await import(bundle);
const started = performance.now();
const result = await handler(JSON.parse(eventJson));
const seconds = (performance.now() - started) / 1000;
const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
const outcome = result?.outcomes?.[0];
process.stdout.write(
  `\n${JSON.stringify({ seconds, peak_rss_mb: hwm ? Number(hwm[1]) / 1024 : null, status: outcome?.status ?? 'none', records: outcome?.ingestion?.records ?? 0 })}\n`,
);
