/** One upload's outcome in words, as `ingest` and `demo` print it. */
import type { IngestOutcome } from '../lambdas/ingest/ingest-upload.ts';

export function outcomeLines(file: string, outcome: IngestOutcome): string[] {
  if (outcome.status === 'missing') return [`✗ ${file}: the uploaded object disappeared before it was processed`];
  const i = outcome.ingestion;
  if (outcome.status === 'rejected') {
    return [`✗ ${file}: rejected: ${i.source_key}:${i.error_line ?? 0}: ${i.error_code ?? ''}: ${i.error_message ?? ''}`];
  }
  const written = i.partitions.filter((p) => p.outcome === 'written').length;
  const kept = i.partitions.length - written;
  const head =
    `✓ ${file}: ${outcome.status}, ${i.records} records (vintage ${i.source_vintage ?? '?'}); ` +
    `${i.records_written} written to ${written} partition${written === 1 ? '' : 's'}` +
    (kept > 0 ? `, ${kept} left alone (a newer vintage is there)` : '') +
    `; ${i.warnings.length} warning${i.warnings.length === 1 ? '' : 's'}`;
  return [head, ...i.warnings.map((w) => `    warning: ${w}`)];
}
