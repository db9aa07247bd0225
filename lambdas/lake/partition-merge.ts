/**
 * The replacement rules, I/O-free: how one upload's rows for a month combine with the rows the lake holds for it.
 *
 * The unit of replacement is the section-month (dataset, main group, measure group, month); a cell is one region in
 * it. A complete section replaces its section-month wholesale, so a restated section leaves no stale regions behind;
 * a cut-off section brings only the cells it has and deletes none. Of two copies of a cell the one with the larger
 * upload rank is kept, and a cell ranked below its section's newest complete copy (`section_rank`) is gone.
 *
 * Both rules take a maximum (per cell, and per section), so the result depends only on the set of uploads merged,
 * never on their order, and merging the same upload twice changes nothing.
 */
import { type StoredObservation, sectionKey } from './observation-file.ts';

export interface MergeInput {
  /** The rows the partition object holds now (empty when there is none). */
  existing: readonly StoredObservation[];
  /** The upload's rows for this partition, provenance set (source_*, ingested_at, upload_rank); any order. */
  incoming: Iterable<StoredObservation> | AsyncIterable<StoredObservation>;
  /** upload_rank of the incoming upload. */
  rank: string;
  /** Sections (sectionKey) the upload has rows for in this partition. */
  sections: ReadonlySet<string>;
  /** Whether the upload's copy of a section is complete (false: cut off, it only brings its cells). */
  complete: (section: string) => boolean;
}

export interface MergeResult {
  /** Rows the partition holds after the merge. */
  rows: number;
  /** Of those, rows from the incoming upload. */
  written: number;
  /** Whether the partition differs from what it held (false: nothing to write). */
  changed: boolean;
}

function cellKey(r: StoredObservation): string {
  return `${sectionKey(r)}\u0000${r.region}`;
}

function maxRank(a: string | null | undefined, b: string | null | undefined): string | null {
  if (a === null || a === undefined) return b ?? null;
  if (b === null || b === undefined) return a;
  return a >= b ? a : b;
}

/** Streams the merged rows to `emit`: the incoming rows that win first, in their order, then the surviving others. */
export async function mergePartition(input: MergeInput, emit: (row: StoredObservation) => void): Promise<MergeResult> {
  const { rank } = input;
  const held = new Map<string, StoredObservation>();
  const sectionRank = new Map<string, string | null>();
  for (const stored of input.existing) {
    const r = stored.upload_rank == null ? fromEarlierRelease(stored) : stored;
    held.set(cellKey(r), r);
    const s = sectionKey(r);
    sectionRank.set(s, maxRank(sectionRank.get(s), r.section_rank));
  }
  for (const s of input.sections) {
    if (input.complete(s)) sectionRank.set(s, maxRank(sectionRank.get(s), rank));
  }

  let rows = 0;
  let written = 0;
  let changed = false;
  const taken = new Set<string>();
  for await (const r of input.incoming) {
    const s = sectionKey(r);
    const floor = sectionRank.get(s) ?? null;
    if (floor !== null && rank < floor) continue;
    const key = cellKey(r);
    // The parser refuses a region listed twice in a section; a second copy here is a bug, not data.
    if (taken.has(key)) throw new Error(`the upload has two rows for one cell: ${key.replace(/\u0000/g, ' / ')}`);
    const current = held.get(key);
    const currentRank = current?.upload_rank ?? null;
    if (current && currentRank !== null && currentRank > rank) continue;
    taken.add(key);
    rows++;
    written++;
    if (current && currentRank === rank) {
      // The same upload again (a redelivery): the row is already there.
      const kept = current.section_rank === floor ? current : { ...current, section_rank: floor };
      if (kept !== current) changed = true;
      emit(kept);
      continue;
    }
    changed = true;
    emit({ ...r, upload_rank: rank, section_rank: floor });
  }
  for (const [key, r] of held) {
    if (taken.has(key)) continue;
    const floor = sectionRank.get(sectionKey(r)) ?? null;
    if (floor !== null && (r.upload_rank ?? '') < floor) {
      changed = true;
      continue;
    }
    rows++;
    if (r.section_rank !== floor) {
      changed = true;
      emit({ ...r, section_rank: floor });
    } else emit(r);
  }
  return { rows, written, changed };
}

/**
 * Rows written before ranks existed came from whole-month replacements by the newest vintage: they rank by their
 * vintage alone, below any newer upload of the same vintage, and their month counts as complete.
 */
function fromEarlierRelease(r: StoredObservation): StoredObservation {
  const rank = `${r.source_vintage}/`;
  return { ...r, upload_rank: rank, section_rank: rank };
}
