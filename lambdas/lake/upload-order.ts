/**
 * "Latest vintage wins": which of two uploads is newer. Vintage first (the export's last month); for the same
 * vintage the later upload, by S3 sequencer when both came to the same key (S3 orders a key's events that way),
 * else by event time. Ties fall to a fixed order so concurrent writers agree on one winner.
 */
export interface UploadOrder {
  /** `YYYY-MM`. */
  vintage: string;
  sourceKey: string;
  /** ISO-8601. */
  eventTime: string;
  /** Hex string from the S3 event; '' when unknown. */
  sequencer: string;
}

function compareSequencers(a: string, b: string): number {
  const width = Math.max(a.length, b.length);
  const x = a.padStart(width, '0');
  const y = b.padStart(width, '0');
  return x < y ? -1 : x > y ? 1 : 0;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Negative when a is older than b, 0 for the same upload, positive when a is newer. */
export function compareUploads(a: UploadOrder, b: UploadOrder): number {
  if (a.vintage !== b.vintage) return compareStrings(a.vintage, b.vintage);
  if (a.sourceKey === b.sourceKey && a.sequencer !== '' && b.sequencer !== '') {
    return compareSequencers(a.sequencer, b.sequencer);
  }
  return (
    compareStrings(a.eventTime, b.eventTime) || compareSequencers(a.sequencer, b.sequencer) || compareStrings(a.sourceKey, b.sourceKey)
  );
}

const META = {
  vintage: 'source-vintage',
  sourceKey: 'source-key',
  eventTime: 'event-time',
  sequencer: 'sequencer',
} as const;

/** S3 user metadata must be ASCII, and keys may hold æøå: the key is percent-encoded. */
export function toMetadata(order: UploadOrder, records: number): Record<string, string> {
  return {
    [META.vintage]: order.vintage,
    [META.sourceKey]: encodeURIComponent(order.sourceKey),
    [META.eventTime]: order.eventTime,
    [META.sequencer]: order.sequencer,
    records: String(records),
  };
}

export function fromMetadata(meta: Record<string, string> | undefined): UploadOrder | null {
  const vintage = meta?.[META.vintage];
  if (!meta || !vintage) return null;
  let sourceKey = meta[META.sourceKey] ?? '';
  try {
    sourceKey = decodeURIComponent(sourceKey);
  } catch {
    // Written by something else; compare it as it is.
  }
  return { vintage, sourceKey, eventTime: meta[META.eventTime] ?? '', sequencer: meta[META.sequencer] ?? '' };
}
