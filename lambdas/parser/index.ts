/**
 * Thin wrappers around the I/O-free parser: bytes in memory, any (async) iterable of chunks (Node streams and S3
 * bodies are both), and a file path. Each takes any of NAV's download formats (text, .xlsx, delimited text), told
 * apart by the bytes (front-ends/format-parser.ts); the ExportParser core reads NAV's text export alone.
 */
import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import type { Observation } from '../schema/columns.ts';
import type { ParseSummary, ParserOptions } from './export-parser.ts';
import { FormatParser } from './front-ends/format-parser.ts';

export { ExportParser } from './export-parser.ts';
export type { CutOffSection, LineOrigin, ParseSummary, ParseWarning, ParserOptions, WarningCode } from './export-parser.ts';
export { FormatParser, MAX_WORKBOOK_BYTES } from './front-ends/format-parser.ts';
export type { ExportFormat, FormatLimits } from './front-ends/format-parser.ts';
export { WORKBOOK_LIMITS } from './front-ends/xlsx.ts';
export { ParseError, PARSE_ERROR_CODES, isParseError } from './errors.ts';
export type { ParseErrorCode } from './errors.ts';

export interface ParseResult {
  records: Observation[];
  summary: ParseSummary;
}

export type ChunkSource = Iterable<Uint8Array> | AsyncIterable<Uint8Array>;

/** Parses bytes already in memory; every record carries the file's final vintage. */
export function parseBytes(bytes: Uint8Array, options: ParserOptions): ParseResult {
  const parser = new FormatParser(options);
  const records = parser.write(bytes);
  for (const r of parser.end()) records.push(r);
  const summary = parser.summary();
  return { records: withFinalVintage(records, summary, options), summary };
}

/**
 * Records streamed before a later section raised the vintage carry an earlier one; with the whole file in memory,
 * every record gets the file's.
 */
function withFinalVintage(records: Observation[], summary: ParseSummary, options: ParserOptions): Observation[] {
  const vintage = summary.vintage;
  if (options.vintage !== undefined || vintage === null) return records;
  for (const r of records) if (r.source_vintage !== vintage) r.source_vintage = vintage;
  return records;
}

/**
 * Streams chunks through the parser, handing each batch of completed records to `onRecords` so that callers that
 * write as they go never hold the whole file. Without `options.vintage`, a record carries the vintage of the
 * sections read so far, which a later section may raise: summary.vintage is the file's.
 */
export async function parseChunks(
  source: ChunkSource,
  options: ParserOptions,
  onRecords: (records: Observation[]) => void | Promise<void>,
): Promise<ParseSummary> {
  const parser = new FormatParser(options);
  for await (const chunk of source) {
    const batch = parser.write(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    if (batch.length > 0) await onRecords(batch);
  }
  const last = parser.end();
  if (last.length > 0) await onRecords(last);
  return parser.summary();
}

/** Collects every record of a stream, for callers that want the whole upload in memory; each has the final vintage. */
export async function parseAll(source: ChunkSource, options: ParserOptions): Promise<ParseResult> {
  const records: Observation[] = [];
  const summary = await parseChunks(source, options, (batch) => {
    for (const r of batch) records.push(r);
  });
  return { records: withFinalVintage(records, summary, options), summary };
}

export function parseFileStream(
  path: string,
  onRecords: (records: Observation[]) => void | Promise<void>,
  options: Partial<ParserOptions> = {},
): Promise<ParseSummary> {
  return parseChunks(createReadStream(path, { highWaterMark: 256 * 1024 }), { file: basename(path), ...options }, onRecords);
}

/**
 * Reads a file through the parser without building records, for its summary: a first pass that learns the file's
 * vintage (or its ParseError) before a streaming pass with `vintage` set.
 */
export function summarizeFile(path: string, options: Partial<ParserOptions> = {}): Promise<ParseSummary> {
  return parseFileStream(path, () => {}, { ...options, countOnly: true });
}

export function parseFile(path: string, options: Partial<ParserOptions> = {}): Promise<ParseResult> {
  return parseAll(createReadStream(path, { highWaterMark: 256 * 1024 }), { file: basename(path), ...options });
}
