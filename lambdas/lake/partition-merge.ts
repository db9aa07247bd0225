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
import type { StoredObservation } from './observation-file.ts';

/** What the rules look at in a row; the rest of the row is carried along untouched. */
export type MergeRow = Pick<StoredObservation, 'main_group' | 'measure_group' | 'region' | 'upload_rank' | 'section_rank'>;

export interface MergeInput<E extends MergeRow, I extends MergeRow> {
  /** The rows the partition object holds now (empty when there is none). */
  existing: readonly E[];
  /**
   * The upload's rows for this partition (their upload_rank is `rank`), any order, in batches: between batches the
   * caller can wait for its output to drain, within one no time is spent awaiting.
   */
  incoming: AsyncIterable<Iterable<I>>;
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

function sectionOf(r: MergeRow): string {
  return `${r.main_group}\u0000${r.measure_group}`;
}

function maxRank(a: string | null | undefined, b: string | null | undefined): string | null {
  if (a === null || a === undefined) return b ?? null;
  if (b === null || b === undefined) return a;
  return a >= b ? a : b;
}

/**
 * Streams the merged rows to `emit` with the section_rank each must carry: the incoming rows that win first, in
 * their order, then the surviving others. A row is emitted as it was given; only its section_rank may change.
 */
export async function mergePartition<E extends MergeRow, I extends MergeRow>(
  input: MergeInput<E, I>,
  emit: (row: E | I, sectionRank: string | null, from: 'existing' | 'incoming') => void,
): Promise<MergeResult> {
  const { rank } = input;
  const held = new Map<string, E>();
  const sectionRank = new Map<string, string | null>();
  for (const r of input.existing) {
    const s = sectionOf(r);
    held.set(`${s}\u0000${r.region}`, r);
    sectionRank.set(s, maxRank(sectionRank.get(s), r.section_rank));
  }
  for (const s of input.sections) {
    if (input.complete(s)) sectionRank.set(s, maxRank(sectionRank.get(s), rank));
  }

  let rows = 0;
  let written = 0;
  let changed = false;
  const taken = new Set<string>();
  for await (const batch of input.incoming) {
    for (const r of batch) {
      const s = sectionOf(r);
      const floor = sectionRank.get(s) ?? null;
      if (floor !== null && rank < floor) continue;
      const key = `${s}\u0000${r.region}`;
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
        if (current.section_rank !== floor) changed = true;
        emit(current, floor, 'existing');
        continue;
      }
      changed = true;
      emit(r, floor, 'incoming');
    }
  }
  for (const [key, r] of held) {
    if (taken.has(key)) continue;
    const floor = sectionRank.get(sectionOf(r)) ?? null;
    if (floor !== null && (r.upload_rank ?? '') < floor) {
      changed = true;
      continue;
    }
    rows++;
    if (r.section_rank !== floor) changed = true;
    emit(r, floor, 'existing');
  }
  return { rows, written, changed };
}
