/**
 * "Latest wins" as one sortable string per upload, so that every writer, every order of processing and every SQL
 * query agree on which of two copies of a value is newer: vintage first (the last month the export covers), then
 * the upload time, then S3's sequencer, then a hash of the key as the final tie-break. Strings compare bytewise, so
 * each part has a fixed width.
 */
import { createHash } from 'node:crypto';

export interface UploadIdentity {
  /** `YYYY-MM`. */
  vintage: string;
  sourceKey: string;
  /** ISO-8601, as S3 reports the upload. */
  eventTime: string;
  /** Hex string from the S3 event; '' when unknown. */
  sequencer: string;
}

const SEQUENCER_WIDTH = 32;
const NO_TIME = '0000-00-00T00:00:00.000Z';

function normalTime(iso: string): string {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? NO_TIME : new Date(t).toISOString();
}

function normalSequencer(hex: string): string {
  const h = /^[0-9a-fA-F]*$/.test(hex) ? hex.toUpperCase() : '';
  // S3 compares sequencers of different lengths after padding the shorter one on the left.
  return h.length > SEQUENCER_WIDTH ? h.slice(-SEQUENCER_WIDTH) : h.padStart(SEQUENCER_WIDTH, '0');
}

export function uploadRank(u: UploadIdentity): string {
  const keyHash = createHash('sha256').update(u.sourceKey).digest('hex').slice(0, 12);
  return `${u.vintage}/${normalTime(u.eventTime)}/${normalSequencer(u.sequencer)}/${keyHash}`;
}
