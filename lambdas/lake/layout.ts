/**
 * Where things live in the lake bucket. Keys built here never contain `.`/`..` segments or control characters, so
 * nothing derived from an uploaded key can escape its prefix (on S3 or in the local lake directory).
 */
import { INGESTIONS_TABLE, OBSERVATIONS_TABLE } from '../schema/columns.ts';

export const LOCAL_RAW_BUCKET = 'navlake-raw';
export const LOCAL_LAKE_BUCKET = 'navlake-lake';
export const REJECTED_PREFIX = 'rejected/';

const MAX_SEGMENT_BYTES = 200;

/** One path segment made safe: no control characters, no `.`/`..`, bounded length. */
export function safeSegment(segment: string): string {
  let s = segment.replace(/[\u0000-\u001f\u007f]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  // An empty segment (from `a//b`) would vanish on a file system and merge two keys' paths.
  if (s === '') s = '_';
  if (s === '.' || s === '..') s = s.replace(/\./g, '%2E');
  if (Buffer.byteLength(s) > MAX_SEGMENT_BYTES) s = truncateUtf8(s, MAX_SEGMENT_BYTES);
  return s;
}

/** A raw key turned into a relative path of safe segments. */
export function safeKeyPath(rawKey: string): string {
  return rawKey.split('/').map(safeSegment).join('/');
}

function truncateUtf8(s: string, maxBytes: number): string {
  let out = '';
  for (const ch of s) {
    if (Buffer.byteLength(out + ch) > maxBytes - 1) break;
    out += ch;
  }
  return `${out}~`;
}

export function observationPartitionPrefix(year: number, month: number): string {
  return `${OBSERVATIONS_TABLE.prefix}year=${year}/month=${String(month).padStart(2, '0')}/`;
}

export function observationKey(dataset: string, year: number, month: number): string {
  return `${observationPartitionPrefix(year, month)}${safeSegment(dataset)}.ndjson.gz`;
}

export function rejectedKey(rawKey: string): string {
  return `${REJECTED_PREFIX}${safeKeyPath(rawKey)}.json`;
}

/**
 * Folder of the ingestion records of uploads rejected before their title was read. Athena skips every key segment
 * starting with `_` or `.`, so it must not start with either; slugs never hold parentheses, so it names no dataset.
 */
export const UNKNOWN_DATASET_FOLDER = '(unknown)';

/** One object per processing; the name sorts by time and stays unique under concurrent deliveries. */
export function ingestionKey(dataset: string | null, ingestedAt: string, ingestionId: string): string {
  const folder = dataset === null ? UNKNOWN_DATASET_FOLDER : safeSegment(dataset);
  const stamp = ingestedAt.replace(/[:.]/g, '-');
  return `${INGESTIONS_TABLE.prefix}${folder}/${stamp}-${safeSegment(ingestionId)}.json`;
}
