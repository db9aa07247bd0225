/**
 * The I/O-free core: feed it chunks of bytes, get long-format records back as rows complete. All state is explicit
 * in this class, so the same bytes give the same records however they are chunked, and memory does not grow with
 * the file (per-section sums and a small cross-section table of totals are all it keeps).
 */
import type { Observation } from '../schema/columns.ts';
import { ChunkDecoder, DecodeError, countLineBreaks, type Encoding } from './decoder.ts';
import { ParseError, type ParseErrorCode } from './errors.ts';
import { NON_COUNTY_REGIONS, TOTAL_REGION, countiesOf, countyCode, norwegianName } from './regions.ts';
import {
  ALL_GROUPS,
  type CellValue,
  type Groups,
  type Period,
  datasetSlug,
  headingGroups,
  monthName,
  monthNumber,
  parseCell,
  SUPPRESSED_CELL,
  parsePeriod,
  periodString,
} from './vocabulary.ts';

export interface ParserOptions {
  /** Named in errors and warnings; also the default source_key. */
  file: string;
  sourceKey?: string;
  ingestedAt?: string | null;
  /** Longest line accepted (characters); real lines are about 100. */
  maxLineLength?: number;
  /** Warnings kept; past this a single TOO_MANY_WARNINGS warning counts the rest. */
  maxWarnings?: number;
  /**
   * A section that gives values for months an earlier section of the same groups and year already gave would count
   * them twice: an error by default. Benchmarks that repeat years to reach a size allow it.
   */
  repeatedSections?: 'error' | 'allow';
  /**
   * `YYYY-MM` to put in every record's source_vintage. Records are streamed before the last section is read, so
   * without it each carries the latest month of the sections read so far, not yet the file's (see summary().vintage).
   */
  vintage?: string;
  /** Read and check the whole file but build no records (write/end return none): a cheap pass for the summary. */
  countOnly?: boolean;
  /** Set by the front-ends for workbooks and delimited files (front-ends/), which feed the core with writeText. */
  origin?: LineOrigin;
}

/**
 * Where the lines a front-end feeds the core came from: a sheet's rows or a delimited file's records, each turned
 * into one line of tab-separated cells, so that every rule of the text format holds for every format. Errors and
 * warnings then name the source's row or line, and the cell.
 */
export interface LineOrigin {
  /** The encoding summary() reports: the core itself only sees text. */
  readonly encoding: Encoding | null;
  /** The source row or line of logical line n (1-based); 0 (the whole file) stays 0. */
  line(n: number): number;
  /**
   * Where character column `column` (1-based) of logical line n, whose text is `text`, lies in the source: the
   * source's column number and how to name it ("cell F29", "field 6").
   */
  cell(n: number, column: number, text: string): { column: number; name: string };
}

export type WarningCode = 'CUT_OFF' | 'TOTALS_MISMATCH' | 'MAIN_GROUP_MISMATCH' | 'UNKNOWN_REGION' | 'IGNORED_TEXT' | 'TOO_MANY_WARNINGS';

export interface ParseWarning {
  code: WarningCode;
  /** Line the warning is about (0 when about the whole file). */
  line: number;
  /** 1-based index of the data section, when it concerns one. */
  section?: number;
  message: string;
}

export interface ParseSummary {
  file: string;
  encoding: Encoding | null;
  tableTitle: string | null;
  dataset: string | null;
  /** `YYYY-MM`, the last month any section covers: the latest year and period end over all sections. */
  vintage: string | null;
  sections: number;
  records: number;
  suppressed: number;
  lines: number;
  warnings: ParseWarning[];
  /** Sections cut off by the end of the file, in file order: they bring only the cells they have. */
  cutOffSections: CutOffSection[];
}

export interface CutOffSection {
  mainGroup: string;
  measureGroup: string;
  year: number;
}

const DEFAULT_MAX_LINE = 64 * 1024;
const DEFAULT_MAX_WARNINGS = 200;
/** A NAV section has about 25 rows; past this many distinct regions it is no NAV table, and memory stays bounded. */
const MAX_REGIONS_CHECKED = 1000;
/** Headings wrap over up to three lines; more than this many preamble lines before a header is not a NAV table. */
const MAX_HEAD_LINES = 12;
const MAX_LABEL_LINES = 6;

type State = 'preamble' | 'head' | 'rows' | 'afterRows' | 'cellHeader' | 'cellRows';

interface Section {
  index: number;
  startLine: number;
  breakdown: string;
  heading: string;
  mainGroup: string;
  measureGroup: string;
  period: Period;
  months: number[];
  /** `YYYY-MM` of each header month, made once per section rather than once per value. */
  periods: string[];
  layout: 'tabs' | 'cells';
  rows: number;
  lastRegion: string | null;
  /** Per header month: the "I alt" value, the sum of the other rows, and whether any cell was suppressed. */
  total: Array<number | null>;
  sum: number[];
  suppressedIn: boolean[];
  hasTotalRow: boolean;
  cutOff: boolean;
  /** County codes of the rows read, to tell a section cut between rows from a complete one. */
  codes: Set<string>;
  /** Region of each row read, with its line: a region listed twice would count twice. */
  regionLines: Map<string, number>;
}

/** "I alt" rows of one measure group and year, by month: the all-groups total and each main group's. */
interface MainGroupTotals {
  measure: string;
  year: number;
  all: Array<number | null | undefined>;
  mains: Map<string, Array<number | null | undefined>>;
}

interface RegionInfo {
  region: string;
  code: string | null;
  isTotal: boolean;
}

export class ExportParser {
  private readonly file: string;
  private readonly sourceKey: string;
  private readonly ingestedAt: string | null;
  private readonly maxLine: number;
  private readonly maxWarnings: number;
  private readonly decoder = new ChunkDecoder();

  private carry = '';
  private lineNo = 0;
  private bytesSeen = 0;
  private nonBlankSeen = false;
  private endedWithBreak = true;

  private state: State = 'preamble';
  private title: string | null = null;
  private dataset: string | null = null;
  private vintage: string | null = null;
  private head: string[] = [];
  private headLineNos: number[] = [];
  private headStart = 0;
  private section: Section | null = null;
  private sectionCount = 0;
  private maxRowsSeen = 0;
  private labelLines: string[] = [];
  /** Line of the first label line of the row being read in the one-cell-per-line layout. */
  private labelLine = 0;
  private cellValues: CellValue[] = [];
  /** Line of the last text ignored since the current section's rows stopped (0: none). */
  private ignoredLine = 0;
  /** An "Om tabellene" notes block began after the rows: its period line starts no section. */
  private notesAfterRows = false;

  private records = 0;
  private suppressed = 0;
  private readonly warningList: ParseWarning[] = [];
  private readonly cutOffSections: CutOffSection[] = [];
  private warningsDropped = 0;
  private readonly unknownRegions = new Set<string>();
  private readonly mainGroupTotals = new Map<string, MainGroupTotals>();
  /** Row label to region and code, per year: a file repeats the same labels in every section. */
  private readonly regionsByYear = new Map<number, Map<string, RegionInfo>>();
  /** Headings recur in every year's block of sections; sentence-casing them is not free. */
  private readonly groupsByHeading = new Map<string, Groups>();
  /**
   * Months already given per main group, measure group and year (a bit per month), and the line that gave them first.
   * Not per breakdown: the lake replaces data per (dataset, main group, measure group, month), whatever the breakdown.
   */
  private readonly monthsGiven = new Map<string, { mask: number; line: number }>();
  private readonly repeatedSections: 'error' | 'allow';
  private readonly fixedVintage: string | null;
  private readonly countOnly: boolean;
  private readonly origin: LineOrigin | null;
  /** The line being read, for an origin to place a cell named by its character column. */
  private currentText = '';
  private out: Observation[] = [];

  constructor(options: ParserOptions) {
    this.file = options.file;
    this.sourceKey = options.sourceKey ?? options.file;
    this.ingestedAt = options.ingestedAt ?? null;
    this.maxLine = options.maxLineLength ?? DEFAULT_MAX_LINE;
    this.maxWarnings = options.maxWarnings ?? DEFAULT_MAX_WARNINGS;
    this.repeatedSections = options.repeatedSections ?? 'error';
    if (options.vintage !== undefined && !/^\d{4}-(0[1-9]|1[0-2])$/.test(options.vintage)) {
      throw new RangeError(`vintage must be YYYY-MM, got "${options.vintage}"`);
    }
    this.fixedVintage = options.vintage ?? null;
    this.countOnly = options.countOnly === true;
    this.origin = options.origin ?? null;
  }

  /** Records completed by this chunk. */
  write(chunk: Uint8Array): Observation[] {
    this.bytesSeen += chunk.length;
    this.feed(
      this.decode(() => this.decoder.decode(chunk)),
      false,
    );
    return this.flush();
  }

  /**
   * Text already decoded, for the front-ends: lines of tab-separated cells, each ended by a line break except
   * perhaps a last one cut short. Not to be mixed with write() in one parse.
   */
  writeText(text: string): Observation[] {
    this.bytesSeen += text.length;
    this.feed(text, false);
    return this.flush();
  }

  /** Records completed by the end of input; after this, summary() is final. */
  end(): Observation[] {
    this.feed(
      this.decode(() => this.decoder.end()),
      true,
    );
    if (this.decoder.cutCharacter) {
      this.warn(
        'CUT_OFF',
        this.lineNo,
        `the file ends inside a character (an incomplete ${this.decoder.encoding} sequence), which is dropped`,
      );
    }
    this.finish();
    return this.flush();
  }

  get warnings(): readonly ParseWarning[] {
    return this.warningList;
  }

  summary(): ParseSummary {
    const warnings = [...this.warningList];
    if (this.warningsDropped > 0) {
      warnings.push({ code: 'TOO_MANY_WARNINGS', line: 0, message: `${this.warningsDropped} more warnings not shown` });
    }
    return {
      file: this.file,
      encoding: this.origin ? this.origin.encoding : this.decoder.encoding,
      tableTitle: this.title,
      dataset: this.dataset,
      vintage: this.vintage,
      sections: this.sectionCount,
      records: this.records,
      suppressed: this.suppressed,
      lines: this.at(this.lineNo),
      warnings,
      cutOffSections: this.cutOffSections.map((s) => ({ ...s })),
    };
  }

  private flush(): Observation[] {
    const out = this.out;
    this.out = [];
    return out;
  }

  private decode(step: () => string): string {
    try {
      return step();
    } catch (e) {
      if (e instanceof DecodeError) {
        // The carried partial line (it may end in the CR of a CRLF split across chunks) continues into this text.
        this.fail(e.kind, this.lineNo + 1 + countLineBreaks(this.carry + e.textBefore), e.message, undefined, e);
      }
      throw e;
    }
  }

  // ---- lines -------------------------------------------------------------------------------------------------

  private feed(text: string, final: boolean): void {
    let t = this.carry + text;
    this.carry = '';
    if (t.indexOf('\r') !== -1) {
      // A CR at the very end may be the first half of a CRLF split across chunks.
      let held = '';
      if (!final && t.charCodeAt(t.length - 1) === 0x0d) {
        held = '\r';
        t = t.slice(0, -1);
      }
      t = t.replace(/\r\n?/g, '\n') + held;
    }
    let start = 0;
    for (;;) {
      const nl = t.indexOf('\n', start);
      if (nl === -1) break;
      if (nl - start > this.maxLine) this.lineTooLong(this.lineNo + 1);
      this.line(t.slice(start, nl), true);
      start = nl + 1;
    }
    const rest = start === 0 ? t : t.slice(start);
    if (final) {
      this.endedWithBreak = rest.length === 0;
      if (rest.length > 0) {
        if (rest.length > this.maxLine) this.lineTooLong(this.lineNo + 1);
        this.line(rest, false);
      }
    } else {
      if (rest.length > this.maxLine + 1) this.lineTooLong(this.lineNo + 1);
      this.carry = rest;
    }
  }

  private lineTooLong(line: number): never {
    this.fail('LINE_TOO_LONG', line, `a line longer than ${this.maxLine} characters; NAV exports have short lines`);
  }

  /** One line; `terminated` is false only for a last line with no line break (a possible cut). */
  private line(raw: string, terminated: boolean): void {
    this.lineNo++;
    this.currentText = raw;
    const text = raw.trimEnd();
    if (text.length === 0 || (this.lineNo === 1 && text === '\ufeff')) {
      if (this.state === 'rows') {
        this.state = 'afterRows';
        this.ignoredLine = 0;
        this.notesAfterRows = false;
      }
      return;
    }
    this.nonBlankSeen = true;
    if (this.title !== null && text.length >= this.title.length && text.trim() === this.title) {
      this.endSection();
      this.startHead();
      return;
    }
    switch (this.state) {
      case 'preamble':
        this.onTitle(text);
        return;
      case 'head':
        this.onHeadLine(text, terminated);
        return;
      case 'rows':
        this.onRow(text, terminated);
        return;
      case 'afterRows':
        this.onAfterRows(text, terminated);
        return;
      case 'cellHeader':
        this.onCellHeader(text, terminated);
        return;
      case 'cellRows':
        this.onCellLine(text, terminated);
        return;
    }
  }

  /**
   * A line after a blank line that ended a section's rows. Rows may resume after blank lines; text that is no row is
   * ignored (a footnote), but a new section's head or rows after that text without the title line would be read as
   * more rows of this section, under its groups: an error.
   */
  private onAfterRows(text: string, terminated: boolean): void {
    const section = this.section;
    if (text.startsWith('\t')) {
      if (monthNumber(cellAt(text, 1)) !== null) this.headerAfterRows(text);
    } else if (text.includes('\t')) {
      if (this.ignoredLine > 0) {
        this.fail(
          'MISSING_TITLE',
          this.lineNo,
          `rows resume after text that is not part of ${nameOf(section)} (line ${this.at(this.ignoredLine)}): expected a section's rows right under its header row, and a new section to start with the title line "${clip(this.title ?? '', 100)}"`,
        );
      }
      this.state = 'rows';
      this.onRow(text, terminated);
      return;
    } else if (!this.notesAfterRows && parsePeriod(text) !== null) {
      // The breakdown line, if any, was the line just ignored: that is where the untitled section starts.
      this.fail(
        'MISSING_TITLE',
        this.ignoredLine || this.lineNo,
        `expected the title line "${clip(this.title ?? '', 100)}" before a new section (its period line "${clip(text)}" is at line ${this.at(this.lineNo)}); without it, its rows would be read as more rows of ${nameOf(section)}`,
      );
    }
    this.ignoredLine = this.lineNo;
    if (text.trim() === 'Om tabellene') this.notesAfterRows = true;
    this.warn('IGNORED_TEXT', this.lineNo, `text after section ${section?.index ?? '?'} ignored: "${clip(text)}"`);
  }

  /** A header row of months after a section's rows: a new section with no title line (nor period line) before it. */
  private headerAfterRows(text: string): never {
    this.fail(
      'MISSING_TITLE',
      this.lineNo,
      `expected the title line "${clip(this.title ?? '', 100)}", a period line and a heading before this header row ("${clip(text)}"); without them, its rows would be read as more rows of ${nameOf(this.section)}`,
    );
  }

  // ---- title and section heads --------------------------------------------------------------------------------

  private onTitle(text: string): void {
    const title = text.replace(/^\ufeff/, '').trim();
    if (/^<(!doctype|html|\?xml|head|body)/i.test(title)) {
      this.fail('NO_TABLE', this.lineNo, 'this is an HTML/XML page (an error page?), not a NAV statistics export');
    }
    if (title.includes('\t')) {
      this.fail('NO_TABLE', this.lineNo, 'expected the table title on the first line, found tab-separated cells');
    }
    this.title = title;
    this.dataset = datasetSlug(title);
    if (this.dataset === '') this.fail('NO_TABLE', this.lineNo, `the title "${clip(title)}" has no letters or digits`);
    this.startHead();
  }

  private startHead(): void {
    this.state = 'head';
    this.head = [];
    this.headLineNos = [];
    this.headStart = this.lineNo;
    this.section = null;
  }

  private onHeadLine(text: string, terminated: boolean): void {
    if (text.startsWith('\t')) {
      this.onHeaderRow(text, terminated);
      return;
    }
    if (text.includes('\t')) {
      this.fail('BAD_HEADER', this.lineNo, 'expected a header row of months (starting with a tab) before the first row');
    }
    const month = monthNumber(text);
    if (month !== null && this.headHasHeading()) {
      this.openSection('cells', []);
      this.onCellHeader(text, terminated);
      return;
    }
    if (this.head.length >= MAX_HEAD_LINES) {
      // The notes block ("Om tabellene") is long and has no header row; only a table section must not be.
      if (this.headPeriodIndex() === -1 || this.head[0] === 'Om tabellene') return;
      this.fail('BAD_HEADER', this.lineNo, `no header row of months within ${MAX_HEAD_LINES} lines of the section title`);
    }
    this.head.push(text.trim());
    this.headLineNos.push(this.lineNo);
  }

  private headPeriodIndex(): number {
    return this.head.findIndex((l) => parsePeriod(l) !== null);
  }

  private headHasHeading(): boolean {
    const p = this.headPeriodIndex();
    return p !== -1 && p < this.head.length - 1;
  }

  /** Turns the collected head lines into a section: breakdown, period line, then the (possibly wrapped) heading. */
  private openSection(layout: 'tabs' | 'cells', months: number[]): Section {
    const p = this.head.findIndex((l) => parsePeriod(l) !== null);
    if (p === -1) {
      this.fail('BAD_PERIOD', this.lineNo, 'expected a period line such as "Januar - Desember 2019" before the header row');
    }
    const parsed = parsePeriod(this.head[p] ?? '');
    if (!parsed?.ok) {
      this.fail('BAD_PERIOD', this.headLineNos[p] ?? this.lineNo, parsed ? parsed.reason : 'unreadable period');
    }
    const period = parsed.period;
    const heading = this.head
      .slice(p + 1)
      .join(' ')
      .replace(/\s+/g, ' ')
      .trim();
    if (heading === '') this.fail('BAD_HEADER', this.lineNo, 'the section has no heading between its period line and header row');
    if (p === 0 && this.sectionCount === 0) {
      // Every section opens with its breakdown line: a period right after the first line means that line was the
      // breakdown, and the table title (which names the dataset) is missing.
      this.fail(
        'NO_TABLE',
        this.headStart,
        `the export has no title line: "${clip(this.title ?? '')}" is followed by the period line, where a breakdown line such as "Fylke og tiltaksgruppe" belongs`,
      );
    }
    const breakdown = p > 0 ? (this.head[0] ?? '') : '';
    let groups = this.groupsByHeading.get(heading);
    if (!groups) {
      groups = headingGroups(heading);
      if (this.groupsByHeading.size < 1000) this.groupsByHeading.set(heading, groups);
    }
    // The latest month any section covers; string order is time order for YYYY-MM.
    const covers = periodString(period.year, period.lastMonth);
    if (this.vintage === null || covers > this.vintage) this.vintage = covers;
    this.sectionCount++;
    const section: Section = {
      index: this.sectionCount,
      startLine: this.headStart,
      breakdown,
      heading,
      mainGroup: groups.mainGroup,
      measureGroup: groups.measureGroup,
      period,
      months,
      periods: [],
      layout,
      rows: 0,
      lastRegion: null,
      total: [],
      sum: [],
      suppressedIn: [],
      hasTotalRow: false,
      cutOff: false,
      codes: new Set(),
      regionLines: new Map(),
    };
    this.section = section;
    return section;
  }

  private onHeaderRow(text: string, terminated: boolean): void {
    const cells = text.split('\t');
    const months: number[] = [];
    let column = 1 + (cells[0]?.length ?? 0) + 1;
    for (let i = 1; i < cells.length; i++) {
      const cell = (cells[i] ?? '').trim();
      const isLast = i === cells.length - 1;
      if (cell === '') {
        if (cells.slice(i).every((c) => c.trim() === '')) break;
      }
      const m = monthNumber(cell);
      if (m === null) {
        if (isLast && !terminated) break;
        this.fail('BAD_HEADER', this.lineNo, `expected a month name in the header row, found "${clip(cell)}"`, column);
      }
      months.push(m);
      column += (cells[i]?.length ?? 0) + 1;
    }
    if (months.length === 0) {
      // Cut inside the first month name: the section ends before its header row, which finish() reports.
      if (!terminated) return;
      this.fail('BAD_HEADER', this.lineNo, 'the header row names no months');
    }
    const section = this.openSection('tabs', months);
    this.checkMonths(section);
    this.state = 'rows';
  }

  private checkMonths(section: Section): void {
    const { period, months } = section;
    for (let i = 0; i < months.length; i++) {
      const expected = period.firstMonth + i;
      if (months[i] !== expected || expected > period.lastMonth) {
        this.fail(
          'BAD_HEADER',
          this.lineNo,
          `header months must run ${monthName(period.firstMonth)}–${monthName(period.lastMonth)} in order as the period line says; column ${i + 1} is ${monthName(months[i] ?? 0)}`,
        );
      }
    }
    section.total = months.map(() => null);
    section.sum = months.map(() => 0);
    section.suppressedIn = months.map(() => false);
    section.periods = months.map((m) => periodString(period.year, m));
    this.checkNotRepeated(section);
  }

  private checkNotRepeated(section: Section): void {
    if (this.repeatedSections === 'allow') return;
    const key = `${section.mainGroup}\u0000${section.measureGroup}\u0000${section.period.year}`;
    const mask = section.months.reduce((m, month) => m | (1 << month), 0);
    const given = this.monthsGiven.get(key);
    if (given && (given.mask & mask) !== 0) {
      this.fail(
        'REPEATED_SECTION',
        this.lineNo,
        `section ${section.index} (${section.heading}, ${section.period.year}) repeats months of the section at line ${this.at(given.line)}; its values would be counted twice`,
      );
    }
    this.monthsGiven.set(key, { mask: (given?.mask ?? 0) | mask, line: given?.line ?? section.startLine });
  }

  // ---- tab layout rows ----------------------------------------------------------------------------------------

  private onRow(text: string, terminated: boolean): void {
    const section = this.section;
    if (!section) return;
    const tab = text.indexOf('\t');
    const n = section.months.length;
    if (tab === -1) {
      if (!terminated) {
        this.cutRow(section, text.trim(), 0);
        return;
      }
      this.fail('MISSING_CELLS', this.lineNo, `expected a row label and ${n} tab-separated values, found "${clip(text)}"`);
    }
    const label = text.slice(0, tab).trim();
    if (label === '') {
      if (monthNumber(cellAt(text, tab + 1)) !== null) this.headerAfterRows(text);
      this.fail('MISSING_CELLS', this.lineNo, 'a row with values but no region label', 1);
    }
    // Cell boundaries, found without splitting the line into substrings: this loop runs once per value.
    const bounds: number[] = [tab + 1];
    for (let t = text.indexOf('\t', tab + 1); t !== -1; t = text.indexOf('\t', t + 1)) bounds.push(t + 1);
    bounds.push(text.length + 1);
    let count = bounds.length - 1;
    while (count > n && text.slice(bounds[count - 1], (bounds[count] as number) - 1).trim() === '') count--;
    if (count > n) {
      this.fail('TOO_MANY_CELLS', this.lineNo, `${count} values where the header has ${n} months`, columnOf(text, n + 1));
    }
    const values: CellValue[] = [];
    for (let i = 0; i < count; i++) {
      const v = parseCell(text, bounds[i], (bounds[i + 1] as number) - 1);
      if (v === null) {
        if (!terminated && i === count - 1) {
          this.cutRow(section, label, i, values);
          return;
        }
        this.fail(
          'BAD_NUMBER',
          this.lineNo,
          `expected a whole number or "*" in ${monthName(section.months[i] ?? 0)} for "${clip(label)}", found "${clip(text.slice(bounds[i], (bounds[i + 1] as number) - 1))}"`,
          columnOf(text, i + 1),
        );
      }
      values.push(v);
    }
    if (values.length < n) {
      // The cut fell inside this row, so its last number may have lost digits; a lone "*" cannot have.
      if (!terminated) {
        this.cutRow(section, label, wholeCells(values), values);
        return;
      }
      this.fail(
        'MISSING_CELLS',
        this.lineNo,
        `${values.length} values where the header has ${n} months`,
        columnOf(text, values.length + 1),
      );
    }
    if (!terminated && !this.lastValueVouchedFor(section, label, values)) {
      // The file ends right after this row's last number, which may have lost digits ("1" of "1 173").
      this.cutRow(section, label, n - 1, values);
      return;
    }
    this.emitRow(section, label, values, this.lineNo);
  }

  /** A last value at the end of the file is whole if it is "*" or completes the month's "I alt" exactly. */
  private lastValueVouchedFor(section: Section, label: string, values: readonly CellValue[]): boolean {
    const i = values.length - 1;
    const last = values[i];
    if (last === undefined || last === SUPPRESSED_CELL) return true;
    if (isTotalLabel(label) || !section.hasTotalRow || section.suppressedIn[i]) return false;
    const total = section.total[i];
    return total !== null && total !== undefined && (section.sum[i] ?? 0) + last === total;
  }

  /** The file ends inside a row: keep the cells that are certainly whole, warn about the rest. */
  private cutRow(section: Section, label: string, whole: number, values: CellValue[] = [], line = this.lineNo): void {
    this.markCutOff(section);
    if (values.length > 0) this.emitRow(section, label, values.slice(0, whole), line);
    this.warn(
      'CUT_OFF',
      this.lineNo,
      `section ${section.index} (${section.heading}) is cut off in the row "${clip(label)}": ${whole} of ${section.months.length} values read`,
      section.index,
    );
  }

  // ---- one-cell-per-line layout --------------------------------------------------------------------------------

  private onCellHeader(text: string, terminated: boolean): void {
    const section = this.section;
    if (!section) return;
    const m = monthNumber(text);
    if (m !== null) {
      section.months.push(m);
      this.state = 'cellHeader';
      return;
    }
    if (section.months.length === 0) this.fail('BAD_HEADER', this.lineNo, 'the header names no months');
    this.checkMonths(section);
    this.state = 'cellRows';
    this.labelLines = [];
    this.cellValues = [];
    this.onCellLine(text, terminated);
  }

  private onCellLine(text: string, terminated: boolean): void {
    const section = this.section;
    if (!section) return;
    const v = parseCell(text);
    if (v === null) {
      if (this.cellValues.length > 0) {
        if (!terminated) {
          this.cutCellRow(section);
          return;
        }
        this.fail(
          'MISSING_CELLS',
          this.lineNo,
          `expected ${section.months.length - this.cellValues.length} more values for "${clip(this.labelLines.join(' '))}", found "${clip(text)}"`,
        );
      }
      if (text.includes('\t') || monthNumber(text) !== null || parsePeriod(text) !== null) this.sectionTextInCells(text);
      if (this.labelLines.length >= MAX_LABEL_LINES) {
        this.fail('MISSING_CELLS', this.lineNo, `a row label over ${MAX_LABEL_LINES} lines with no values`);
      }
      if (this.labelLines.length === 0) this.labelLine = this.lineNo;
      this.labelLines.push(text.trim());
      if (!terminated) this.cutCellRow(section);
      return;
    }
    if (this.labelLines.length === 0) this.fail('MISSING_CELLS', this.lineNo, `a value "${clip(text)}" with no row label`);
    if (!terminated && v !== SUPPRESSED_CELL) {
      // A number at the cut may have lost digits; a lone "*" cannot have.
      this.cutCellRow(section);
      return;
    }
    this.cellValues.push(v);
    if (this.cellValues.length === section.months.length) {
      this.emitRow(section, this.labelLines.join(' '), this.cellValues, this.labelLine);
      this.labelLines = [];
      this.cellValues = [];
    } else if (!terminated) this.cutCellRow(section);
  }

  private cutCellRow(section: Section): void {
    const label = this.labelLines.join(' ');
    const values = this.cellValues;
    this.labelLines = [];
    this.cellValues = [];
    this.cutRow(section, label, values.length, values, this.labelLine);
  }

  /**
   * A header month, a period line or a tab-separated line where a row label belongs: the head or rows of a section
   * whose title line is missing, which would otherwise be read as rows of this one.
   */
  private sectionTextInCells(text: string): never {
    this.fail(
      'MISSING_TITLE',
      this.labelLines.length > 0 ? this.labelLine : this.lineNo,
      `expected a row label or a value of ${nameOf(this.section)}, found "${clip(text)}": a new section starts with the title line "${clip(this.title ?? '', 100)}"`,
    );
  }

  // ---- records ------------------------------------------------------------------------------------------------

  private regionOf(label: string, year: number, section: Section): RegionInfo {
    let byLabel = this.regionsByYear.get(year);
    if (!byLabel) {
      byLabel = new Map();
      this.regionsByYear.set(year, byLabel);
    }
    let info = byLabel.get(label);
    if (!info) {
      const isTotal = isTotalLabel(label);
      const region = isTotal ? TOTAL_REGION : norwegianName(label);
      const code = isTotal || NON_COUNTY_REGIONS.has(region) ? null : countyCode(region, year);
      if (code === null && !isTotal && !NON_COUNTY_REGIONS.has(region) && !this.unknownRegions.has(`${year}:${region}`)) {
        this.unknownRegions.add(`${year}:${region}`);
        this.warn('UNKNOWN_REGION', this.lineNo, `"${clip(region)}" is not a county of ${year}; its region_code is null`, section.index);
      }
      info = { region, code, isTotal };
      // Bounded, so that a hostile file of endless distinct labels cannot grow it without limit.
      if (byLabel.size < 1000) byLabel.set(label, info);
    }
    return info;
  }

  /** `line`: where the row starts (its label's line). */
  private emitRow(section: Section, label: string, values: readonly CellValue[], line: number): void {
    const year = section.period.year;
    const { region, code, isTotal } = this.regionOf(label, year, section);
    const seen = section.regionLines.get(region);
    if (seen !== undefined) {
      this.fail(
        'DUPLICATE_REGION',
        line,
        `expected each region once per section; "${clip(label)}" is ${region === TOTAL_REGION ? 'a second "I alt" row' : `${region} again`} in ${nameOf(section)}, first at line ${this.at(seen)}: its values would count twice`,
      );
    }
    if (section.regionLines.size < MAX_REGIONS_CHECKED) section.regionLines.set(region, line);
    if (code !== null) section.codes.add(code);
    section.rows++;
    section.lastRegion = region;
    if (isTotal) section.hasTotalRow = true;
    if (this.countOnly) {
      this.tally(section, values, isTotal);
      return;
    }
    const vintage = this.fixedVintage ?? this.vintage ?? periodString(year, section.period.lastMonth);
    const dataset = this.dataset ?? '';
    const title = this.title ?? '';
    for (let i = 0; i < values.length; i++) {
      const cell = values[i] as CellValue;
      const suppressed = cell === SUPPRESSED_CELL;
      if (suppressed) {
        section.suppressedIn[i] = true;
        this.suppressed++;
      } else if (isTotal) section.total[i] = cell;
      else section.sum[i] = (section.sum[i] ?? 0) + cell;
      this.out.push({
        dataset,
        table_title: title,
        breakdown: section.breakdown,
        main_group: section.mainGroup,
        measure_group: section.measureGroup,
        region,
        region_code: code,
        year,
        month: section.months[i] as number,
        period: section.periods[i] as string,
        value: suppressed ? null : cell,
        suppressed,
        source_key: this.sourceKey,
        source_vintage: vintage,
        ingested_at: this.ingestedAt,
        upload_rank: null,
        section_rank: null,
      });
    }
    this.records += values.length;
    if (isTotal) this.noteMainGroupTotals(section, values);
  }

  /** emitRow's sums and counts without the records, for countOnly. */
  private tally(section: Section, values: readonly CellValue[], isTotal: boolean): void {
    for (let i = 0; i < values.length; i++) {
      const cell = values[i] as CellValue;
      if (cell === SUPPRESSED_CELL) {
        section.suppressedIn[i] = true;
        this.suppressed++;
      } else if (isTotal) section.total[i] = cell;
      else section.sum[i] = (section.sum[i] ?? 0) + cell;
    }
    this.records += values.length;
    if (isTotal) this.noteMainGroupTotals(section, values);
  }

  private markCutOff(section: Section): void {
    if (section.cutOff) return;
    section.cutOff = true;
    this.cutOffSections.push({ mainGroup: section.mainGroup, measureGroup: section.measureGroup, year: section.period.year });
  }

  private noteMainGroupTotals(section: Section, values: readonly CellValue[]): void {
    const key = `${section.measureGroup}\u0000${section.period.year}`;
    let entry = this.mainGroupTotals.get(key);
    if (!entry) {
      entry = { measure: section.measureGroup, year: section.period.year, all: [], mains: new Map() };
      this.mainGroupTotals.set(key, entry);
    }
    let target = entry.all;
    if (section.mainGroup !== ALL_GROUPS) {
      target = entry.mains.get(section.mainGroup) ?? [];
      entry.mains.set(section.mainGroup, target);
    }
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      target[section.months[i] as number] = v === undefined || v === SUPPRESSED_CELL ? null : v;
    }
  }

  // ---- section and file ends ----------------------------------------------------------------------------------

  private endSection(): void {
    const section = this.section;
    if (this.state === 'cellRows' && this.labelLines.length > 0 && section) {
      this.fail('MISSING_CELLS', this.lineNo, `the row "${clip(this.labelLines.join(' '))}" has no values`);
    }
    if (!section) return;
    this.maxRowsSeen = Math.max(this.maxRowsSeen, section.rows);
    if (section.cutOff) return;
    for (let i = 0; i < section.months.length; i++) {
      const total = section.total[i];
      if (!section.hasTotalRow || section.suppressedIn[i] || total === null || total === undefined) continue;
      const sum = section.sum[i] ?? 0;
      if (sum !== total) {
        this.warn(
          'TOTALS_MISMATCH',
          section.startLine,
          `section ${section.index} (${section.heading}), ${monthName(section.months[i] ?? 0)} ${section.period.year}: regions add up to ${sum}, "I alt" says ${total} (difference ${total - sum})`,
          section.index,
        );
      }
    }
  }

  private finish(): void {
    if (this.bytesSeen === 0) this.fail('EMPTY_FILE', 0, 'the file is empty');
    if (!this.nonBlankSeen) this.fail('EMPTY_FILE', this.lineNo, 'the file holds only blank lines');
    const section = this.section;
    const wasIn = this.state;
    if (wasIn === 'head' && this.headHasHeading() && this.head[0] !== 'Om tabellene') {
      this.warn(
        'CUT_OFF',
        this.lineNo,
        `the export is cut off: the last section (${this.head.slice(this.headPeriodIndex() + 1).join(' ')}) ends before its header row; no values read from it`,
      );
    }
    if (section && (wasIn === 'cellHeader' || wasIn === 'cellRows')) {
      if (wasIn === 'cellHeader') this.checkMonths(section);
      if (this.labelLines.length > 0 || this.cellValues.length > 0) this.cutCellRow(section);
    }
    if (section) {
      const expected = section.period.lastMonth - section.period.firstMonth + 1;
      const missing = [];
      if (section.months.length < expected) {
        const from = section.period.firstMonth + section.months.length;
        missing.push(`${monthName(from)}–${monthName(section.period.lastMonth)} ${section.period.year} missing from its header`);
      }
      if (section.rows === 0) missing.push('no rows');
      else if (section.rows < this.maxRowsSeen && !this.endedWithBreak) {
        missing.push(`${section.rows} rows where earlier sections have up to ${this.maxRowsSeen}`);
      } else if (section.layout === 'tabs' && !section.cutOff) {
        // A file cut between two rows ends cleanly; only the counties not yet listed (or totals that do not add up)
        // show it. Totals that add up vouch for a section that legitimately lacks a county.
        const absent = this.absentCounties(section);
        if (absent.length > 0 && !this.totalsAddUp(section)) missing.push(`no row for ${absent.join(', ')}`);
      }
      if (section.layout === 'cells') missing.unshift('switches to a one-cell-per-line layout');
      if (missing.length > 0) {
        this.markCutOff(section);
        this.warn(
          'CUT_OFF',
          this.lineNo,
          `the export is cut off in section ${section.index} (${section.heading}): ${missing.join('; ')}; ${this.summaryOfRows(section)}`,
          section.index,
        );
      }
    }
    this.endSection();
    if (this.sectionCount === 0) {
      this.fail('NO_TABLE', this.lineNo, 'no table found: expected sections with a period line, a heading and a header row of months');
    }
    this.checkMainGroups();
  }

  /** Counties of the section's year with no row; none when the rows are not (only) that year's counties. */
  private absentCounties(section: Section): string[] {
    const year = section.period.year;
    for (const key of this.unknownRegions) if (key.startsWith(`${year}:`)) return [];
    const counties = countiesOf(year);
    const valid = new Set(counties.map((c) => c.code));
    for (const code of section.codes) if (!valid.has(code)) return [];
    return counties.filter((c) => !section.codes.has(c.code)).map((c) => c.name);
  }

  /** True when at least one month can be checked against "I alt" and every such month adds up. */
  private totalsAddUp(section: Section): boolean {
    let checked = 0;
    for (let i = 0; i < section.months.length; i++) {
      const total = section.total[i];
      if (!section.hasTotalRow || section.suppressedIn[i] || total === null || total === undefined) continue;
      if ((section.sum[i] ?? 0) !== total) return false;
      checked++;
    }
    return checked > 0;
  }

  private summaryOfRows(section: Section): string {
    if (section.rows === 0) return 'no rows read';
    return `${section.rows} row${section.rows === 1 ? '' : 's'} read, the last "${section.lastRegion ?? ''}"`;
  }

  private checkMainGroups(): void {
    for (const entry of this.mainGroupTotals.values()) {
      if (entry.mains.size < 3) continue;
      for (let month = 1; month <= 12; month++) {
        const all = entry.all[month];
        if (all === undefined || all === null) continue;
        let sum = 0;
        let complete = true;
        for (const values of entry.mains.values()) {
          const v = values[month];
          if (v === undefined || v === null) complete = false;
          else sum += v;
        }
        if (complete && sum !== all) {
          this.warn(
            'MAIN_GROUP_MISMATCH',
            0,
            `${entry.measure}, ${monthName(month)} ${entry.year}: the main groups add up to ${sum}, the all-groups total says ${all} (difference ${all - sum})`,
          );
        }
      }
    }
  }

  private warn(code: WarningCode, line: number, message: string, section?: number): void {
    if (this.warningList.length >= this.maxWarnings) {
      this.warningsDropped++;
      return;
    }
    const at = this.at(line);
    this.warningList.push(section === undefined ? { code, line: at, message } : { code, line: at, section, message });
  }

  private fail(code: ParseErrorCode, line: number, message: string, column?: number, cause?: unknown): never {
    let detail = message;
    let col = column;
    if (this.origin && column !== undefined) {
      // Every error that names a column is about the line being read.
      const cell = this.origin.cell(line, column, this.currentText);
      col = cell.column;
      detail = `${message} (${cell.name})`;
    }
    throw new ParseError({
      code,
      file: this.file,
      line: this.at(line),
      message: detail,
      ...(col === undefined ? {} : { column: col }),
      cause,
    });
  }

  /** The source's line (or row) of logical line n. */
  private at(n: number): number {
    return this.origin === null || n === 0 ? n : this.origin.line(n);
  }
}

function isTotalLabel(label: string): boolean {
  return label === TOTAL_REGION || label.startsWith(`${TOTAL_REGION} `);
}

function wholeCells(values: readonly CellValue[]): number {
  const last = values[values.length - 1];
  return last === undefined || last === SUPPRESSED_CELL ? values.length : values.length - 1;
}

function nameOf(section: Section | null): string {
  return section ? `section ${section.index} (${section.heading})` : 'the section before';
}

/** The tab-separated cell that starts at `from`. */
function cellAt(line: string, from: number): string {
  const tab = line.indexOf('\t', from);
  return tab === -1 ? line.slice(from) : line.slice(from, tab);
}

function clip(s: string, max = 60): string {
  const t = s.replace(/\t/g, ' ').trim();
  return t.length > max ? `${t.slice(0, max)}…` : t;
}

/** 1-based character column where the n-th value cell (1-based) of a row starts. */
function columnOf(line: string, n: number): number {
  let col = 0;
  for (let i = 0; i < n; i++) {
    const tab = line.indexOf('\t', col);
    if (tab === -1) return line.length + 1;
    col = tab + 1;
  }
  return col + 1;
}
