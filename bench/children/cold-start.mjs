// A fresh process as Lambda would start one: load the deployed bundle, handle one small S3 event, report the time.
// The S3 endpoint, credentials and bucket come from the environment the bench sets.
const [bundle, eventJson] = process.argv.slice(2);
const started = performance.now();
const { handler } = await import(bundle);
const loaded = performance.now();
const result = await handler(JSON.parse(eventJson));
const done = performance.now();
const status = result?.outcomes?.[0]?.status ?? 'none';
process.stdout.write(`\n${JSON.stringify({ load_ms: loaded - started, total_ms: done - started, status })}\n`);
