/** Rows to text for the terminal and for pipes: NDJSON, CSV (RFC 4180), one JSON array, or an aligned table. */
import type { Writable } from 'node:stream';

export const OUTPUT_FORMATS = ['ndjson', 'csv', 'json', 'table'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export type Row = Record<string, unknown>;

/** DuckDB hands back BIGINT as bigint and lists as arrays; JSON wants plain numbers. */
export function jsonValue(v: unknown): unknown {
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (Array.isArray(v)) return v.map(jsonValue);
  if (v !== null && typeof v === 'object' && !(v instanceof Date)) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, jsonValue(x)]));
  }
  return v;
}

function text(v: unknown): string {
  const j = jsonValue(v);
  if (j === null || j === undefined) return '';
  if (j instanceof Date) return j.toISOString();
  if (typeof j === 'object') return JSON.stringify(j);
  return String(j);
}

export function csvField(v: unknown): string {
  const s = text(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csvLine(columns: readonly string[], row: Row): string {
  return columns.map((c) => csvField(row[c])).join(',');
}

export function ndjsonLine(row: Row): string {
  return JSON.stringify(row, (_k, v: unknown) => (typeof v === 'bigint' ? jsonValue(v) : v));
}

export function formatTable(columns: readonly string[], rows: readonly Row[]): string {
  const cells = rows.map((r) => columns.map((c) => (r[c] === null || r[c] === undefined ? 'NULL' : text(r[c]))));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => (r[i] ?? '').length)));
  const isNumber = (v: unknown) => typeof v === 'number' || typeof v === 'bigint';
  const numeric = columns.map((c) => rows.some((r) => isNumber(r[c])) && rows.every((r) => r[c] === null || isNumber(r[c])));
  const line = (vals: readonly string[]) =>
    vals
      .map((v, i) => (numeric[i] ? v.padStart(widths[i] ?? 0) : v.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  const out = [line(columns), widths.map((w) => '-'.repeat(w)).join('  ')];
  for (const r of cells) out.push(line(r));
  out.push(`(${rows.length} row${rows.length === 1 ? '' : 's'})`);
  return out.join('\n');
}

export function formatRows(format: OutputFormat, columns: readonly string[], rows: readonly Row[]): string {
  switch (format) {
    case 'ndjson':
      return rows.map(ndjsonLine).join('\n');
    case 'csv':
      return [columns.join(','), ...rows.map((r) => csvLine(columns, r))].join('\n');
    case 'json':
      return JSON.stringify(
        rows.map((r) => jsonValue(r)),
        null,
        2,
      );
    case 'table':
      return formatTable(columns, rows);
  }
}

/** Writes respecting backpressure, so piping a large parse into `head` or a slow consumer keeps memory flat. */
export async function writeOut(stream: Writable, chunk: string | Uint8Array): Promise<void> {
  if (!stream.write(chunk)) {
    await new Promise<void>((resolve, reject) => {
      const done = (err?: Error) => {
        stream.off('drain', onDrain);
        stream.off('error', done);
        if (err) reject(err);
        else resolve();
      };
      const onDrain = () => done();
      stream.once('drain', onDrain);
      stream.once('error', done);
    });
  }
}
