// Every ParseError code, each raised by a real bad file (test/fixtures/bad/) or, where a committed file would be
// silly (a 70,000-character line), by one built here. Each pins code, file, the exact line, the column where one
// cell is at fault, and that the message names file and line, since that message is what a rejected upload reports.
import { describe, expect, it } from 'vitest';
import { PARSE_ERROR_CODES, type ParseError } from '../../lambdas/parser/index.ts';
import {
  encodeText,
  expectSame,
  parseChunked,
  parseError,
  parseWhole,
  readBad,
  readSeed,
  singleBytes,
  splitAt,
  withLineEnds,
} from '../helpers/exports.ts';

interface Case {
  file: string;
  code: ParseError['code'];
  line: number;
  column?: number;
  /** Part of the detail, so that the right check fired. */
  says: string;
}

const FIXTURES: Case[] = [
  { file: 'empty.txt', code: 'EMPTY_FILE', line: 0, says: 'the file is empty' },
  { file: 'blank-lines.txt', code: 'EMPTY_FILE', line: 5, says: 'only blank lines' },
  { file: 'export.txt.gz', code: 'NOT_TEXT', line: 1, says: 'binary file' },
  // The PNG signature holds CRLF and LF before its first NUL byte.
  { file: 'chart.png', code: 'NOT_TEXT', line: 3, says: 'binary file' },
  { file: 'html-error-page.html', code: 'NO_TABLE', line: 1, says: 'HTML/XML page' },
  { file: 'access-denied.xml', code: 'NO_TABLE', line: 2, says: 'HTML/XML page' },
  // Title and notes only: the problem is known at the end of the file, its last line.
  { file: 'no-table.txt', code: 'NO_TABLE', line: 18, says: 'no table found' },
  { file: 'bad-period.txt', code: 'BAD_PERIOD', line: 56, says: 'period "Juli - Mars 2019" ends before it starts' },
  { file: 'bad-header.txt', code: 'BAD_HEADER', line: 27, column: 85, says: 'found "Sum"' },
  { file: 'bad-number.txt', code: 'BAD_NUMBER', line: 64, column: 14, says: 'in Mars for "Oslo", found "1 2x4"' },
  { file: 'too-many-cells.txt', code: 'TOO_MANY_CELLS', line: 31, column: 78, says: '13 values where the header has 12 months' },
  { file: 'missing-cells.txt', code: 'MISSING_CELLS', line: 33, column: 52, says: '11 values where the header has 12 months' },
  { file: 'repeated-section.txt', code: 'REPEATED_SECTION', line: 92, says: 'repeats months of the section at line 19' },
  // Section 2's Trøndelag row (line 80) again with its Sami form, which names the same county.
  {
    file: 'duplicate-region.txt',
    code: 'DUPLICATE_REGION',
    line: 81,
    says: '"Trøndelag - Trööndelage" is Trøndelag again in section 2 (Avklaringstiltak), first at line 80',
  },
  // The seed's first two sections without the title line of the second: it starts at its breakdown line.
  {
    file: 'missing-title.txt',
    code: 'MISSING_TITLE',
    line: 53,
    says: 'expected the title line "Deltakere i arbeidsrettede tiltak. Tiltaksgruppe og fylke. Tidsserie måned" before a new section (its period line "Januar - Desember 2019" is at line 55)',
  },
  { file: 'bad-encoding.txt', code: 'BAD_ENCODING', line: 48, says: 'not valid utf-8' },
];

function expectError(e: ParseError, c: Case): void {
  expect({ code: e.code, file: e.file, line: e.line, column: e.column }).toEqual({
    code: c.code,
    file: c.file,
    line: c.line,
    column: c.column,
  });
  expect(e.detail).toContain(c.says);
  expect(e.message).toContain(`${c.file}:${c.line}: ${c.code}`);
  if (c.column !== undefined) expect(e.message).toContain(`(column ${c.column})`);
}

describe('real bad files', () => {
  it.each(FIXTURES)('$file: $code at line $line', (c) => {
    expectError(parseError(readBad(c.file), c.file), c);
  });

  it('cover every code the parser raises', () => {
    const raised = new Set(FIXTURES.map((c) => c.code));
    raised.add('LINE_TOO_LONG'); // generated below
    // The workbook refusals are raised by workbooks built in test/formats/refusals.test.ts.
    for (const code of ['NOT_A_WORKBOOK', 'BAD_WORKBOOK', 'OLD_XLS', 'ENCRYPTED_WORKBOOK', 'ZIP_BOMB'] as const) raised.add(code);
    expect([...PARSE_ERROR_CODES].filter((c) => !raised.has(c))).toEqual(['TOO_LARGE']);
  });

  it('the cell or line at fault is where the error says', () => {
    const lineOf = (file: string, n: number) => readBad(file).toString('utf8').split('\n')[n - 1] ?? '';
    expect(lineOf('bad-number.txt', 64).slice(13)).toMatch(/^1 2x4\t/);
    expect(lineOf('too-many-cells.txt', 31).slice(77)).toBe('33 770');
    expect(lineOf('bad-header.txt', 27).slice(84)).toBe('Sum');
    expect(lineOf('missing-cells.txt', 33)).toHaveLength(51);
    expect([lineOf('duplicate-region.txt', 80), lineOf('duplicate-region.txt', 81)].map((l) => l.split('\t')[0])).toEqual([
      'Trøndelag',
      'Trøndelag - Trööndelage',
    ]);
    // Section 1's last row (48), blank lines where the title line was, then section 2's breakdown and period lines.
    expect([48, 49, 50, 51, 52, 53, 54, 55].map((n) => lineOf('missing-title.txt', n).split('\t')[0])).toEqual([
      'Trøndelag',
      '',
      '',
      '',
      '',
      'Fylke og tiltaksgruppe',
      '',
      'Januar - Desember 2019',
    ]);
  });

  // An error must not depend on where a stream's chunks happen to end: same code, line and column.
  it.each(FIXTURES.filter((c) => c.code !== 'EMPTY_FILE' || c.line > 0))('$file fails the same in any chunks', (c) => {
    const bytes = readBad(c.file);
    const whole = parseWhole(bytes, c.file);
    expect(whole.ok).toBe(false);
    expect(parseChunked(singleBytes(bytes), c.file)).toEqual(whole);
    for (let at = 1; at < bytes.length; at++) expectSame(parseChunked(splitAt(bytes, [at]), c.file), whole, { at });
  });
});

/** The seed's first two sections, as text with LF line ends. */
function seedHead(lines = 60): string {
  return `${readSeed().toString('utf8').split('\n').slice(0, lines).join('\n')}\n`;
}

function replaceLine(text: string, n: number, by: (line: string) => string): string {
  const lines = text.split('\n');
  lines[n - 1] = by(lines[n - 1] ?? '');
  return lines.join('\n');
}

describe('each code in other shapes and encodings', () => {
  it('EMPTY_FILE: a BOM and nothing else', () => {
    const e = parseError(encodeText('', 'utf-16le'), 'bom.txt');
    expect([e.code, e.line]).toEqual(['EMPTY_FILE', 0]);
  });

  it('NOT_TEXT: a NUL inside UTF-8 text and inside UTF-16 text, on its line', () => {
    const text = replaceLine(seedHead(), 30, (l) => `${l.slice(0, 10)}\u0000${l.slice(10)}`);
    for (const enc of ['utf-8', 'utf-16le', 'utf-16be', 'windows-1252'] as const) {
      const e = parseError(encodeText(text, enc), `nul-${enc}.txt`);
      expect([enc, e.code, e.line]).toEqual([enc, 'NOT_TEXT', 30]);
    }
  });

  it('BAD_ENCODING: a lone UTF-16 surrogate, and bad bytes after a UTF-8 BOM, on their line', () => {
    const lone = replaceLine(seedHead(), 40, (l) => `${l}\udc00`);
    expect(parseError(encodeText(lone, 'utf-16le'), 'x.txt')).toMatchObject({ code: 'BAD_ENCODING', line: 40 });
    expect(parseError(encodeText(lone, 'utf-16be'), 'x.txt')).toMatchObject({ code: 'BAD_ENCODING', line: 40 });
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('Tittel\n\nFylke\n'), Buffer.from([0x41, 0xff, 0x0a])]);
    expect(parseError(bom, 'x.txt')).toMatchObject({ code: 'BAD_ENCODING', line: 4 });
  });

  it('BAD_ENCODING on the right line whatever the line ends', () => {
    const bytes = readBad('bad-encoding.txt');
    for (const eol of ['\r\n', '\r'] as const) {
      const text = withLineEnds(bytes.toString('latin1'), eol);
      const e = parseError(Buffer.from(text, 'latin1'), 'x.txt');
      expect([eol, e.code, e.line]).toEqual([eol, 'BAD_ENCODING', 48]);
    }
  });

  it('NO_TABLE: a bare table with no title, and a title with no letters', () => {
    expect(parseError(Buffer.from('\n\tJanuar\tFebruar\nOslo\t1\t2\n'), 't.txt')).toMatchObject({ code: 'NO_TABLE', line: 2 });
    expect(parseError(Buffer.from('-----\n\nJanuar 2020\n'), 't.txt')).toMatchObject({ code: 'NO_TABLE', line: 1 });
  });

  it('BAD_PERIOD: an implausible year on its line; no period line at all at the header row', () => {
    const year = replaceLine(seedHead(), 23, () => 'Januar - Desember 1899');
    expect(parseError(Buffer.from(year), 'p.txt')).toMatchObject({ code: 'BAD_PERIOD', line: 23 });
    const none = replaceLine(seedHead(), 23, () => '');
    expect(parseError(Buffer.from(none), 'p.txt')).toMatchObject({ code: 'BAD_PERIOD', line: 27 });
  });

  it('BAD_HEADER: months out of order, a row before the header, no heading, no header within 12 lines', () => {
    const order = replaceLine(seedHead(), 27, (l) => l.replace('\tMars\tApril', '\tApril\tMars'));
    expect(parseError(Buffer.from(order), 'h.txt')).toMatchObject({ code: 'BAD_HEADER', line: 27 });
    const rowFirst = replaceLine(seedHead(), 27, () => '');
    expect(parseError(Buffer.from(rowFirst), 'h.txt')).toMatchObject({ code: 'BAD_HEADER', line: 28 });
    const noHeading = replaceLine(seedHead(), 25, () => '');
    expect(parseError(Buffer.from(noHeading), 'h.txt')).toMatchObject({ code: 'BAD_HEADER', line: 27 });
    const long = replaceLine(seedHead(), 25, () => Array.from({ length: 12 }, (_, i) => `Tekst ${i + 1}`).join('\n'));
    expect(parseError(Buffer.from(long), 'h.txt')).toMatchObject({ code: 'BAD_HEADER', line: 35 });
  });

  it.each([
    ['12,5', 'a decimal comma'],
    ['-3', 'a negative'],
    ['1.234', 'a dot as separator'],
    ['12 34', 'a group of two'],
    ['1234 567', 'a first group of four'],
    ['2 147 483 648', 'past a 32-bit integer'],
    ['', 'an empty cell'],
    ['１２', 'full-width digits'],
    ['**', 'two stars'],
  ])('BAD_NUMBER: "%s" (%s), with its column', (cell) => {
    // Oslo's March value of section 1 (line 31) starts at column 18.
    const text = replaceLine(seedHead(), 31, (l) => l.replace('\t3 178\t', `\t${cell}\t`));
    const e = parseError(Buffer.from(text), 'n.txt');
    expect({ code: e.code, line: e.line, column: e.column }).toEqual({ code: 'BAD_NUMBER', line: 31, column: 18 });
  });

  it('TOO_MANY_CELLS is not raised by trailing empty cells', () => {
    const text = replaceLine(seedHead(), 31, (l) => `${l}\t\t`);
    const r = parseWhole(Buffer.from(text));
    expect(r.ok).toBe(true);
  });

  it('NO_TABLE: an export whose title line is missing (the breakdown would become the dataset)', () => {
    const text =
      'Fylke og tiltaksgruppe\n\nJanuar - Mars 2019\n\nOpplæring\n\n\tJanuar\tFebruar\tMars\nI alt opplæring\t3\t3\t3\nOslo\t3\t3\t3\n';
    const e = parseError(Buffer.from(text), 'untitled.txt');
    expect(e).toMatchObject({ code: 'NO_TABLE', file: 'untitled.txt', line: 1 });
    expect(e.message).toContain('untitled.txt:1: NO_TABLE: the export has no title line');
  });

  it('MISSING_CELLS: a label with no values, and values with no label', () => {
    const label = replaceLine(seedHead(), 31, () => 'Oslo');
    expect(parseError(Buffer.from(label), 'm.txt')).toMatchObject({ code: 'MISSING_CELLS', line: 31 });
    const noLabel = replaceLine(seedHead(), 31, (l) => l.replace('Oslo', ''));
    expect(parseError(Buffer.from(noLabel), 'm.txt')).toMatchObject({ code: 'MISSING_CELLS', line: 31, column: 1 });
  });

  it('LINE_TOO_LONG: a 70,000-character line, in one piece or in chunks', () => {
    const text = replaceLine(seedHead(), 40, (l) => `${l}${'9'.repeat(70_000)}`);
    const bytes = Buffer.from(withLineEnds(text, '\r\n'));
    const e = parseError(bytes, 'long.txt');
    expect({ code: e.code, line: e.line, file: e.file }).toEqual({ code: 'LINE_TOO_LONG', file: 'long.txt', line: 40 });
    expect(e.message).toContain('long.txt:40: LINE_TOO_LONG');
    for (const size of [1, 7, 4096, 65_536]) {
      const chunks = Array.from({ length: Math.ceil(bytes.length / size) }, (_, i) => bytes.subarray(i * size, (i + 1) * size));
      const r = parseChunked(chunks, 'long.txt');
      expect(r.ok ? null : [r.error.code, r.error.line]).toEqual(['LINE_TOO_LONG', 40]);
    }
  });

  it('LINE_TOO_LONG: the limit is an option, and a line of exactly the limit passes', () => {
    const text = seedHead();
    const longest = Math.max(...text.split('\n').map((l) => l.length));
    const e = parseError(Buffer.from(text), 's.txt', { maxLineLength: longest - 1 });
    const firstLongest = text.split('\n').findIndex((l) => l.length === longest) + 1;
    expect([e.code, e.line]).toEqual(['LINE_TOO_LONG', firstLongest]);
    expect(() => parseError(Buffer.from(text), 's.txt', { maxLineLength: longest })).toThrow('parsed without an error');
  });
});

const SEED_TITLE = 'Deltakere i arbeidsrettede tiltak. Tiltaksgruppe og fylke. Tidsserie måned';
const MONTHS_LINE = 'Januar\tFebruar\tMars\tApril\tMai\tJuni\tJuli\tAugust\tSeptember\tOktober\tNovember\tDesember';
/** Twelve values for a row of a January-December section. */
const TWELVE = Array.from({ length: 12 }, (_, i) => String(i + 1)).join('\t');

/** The seed as lines: line n is lines[n - 1]. */
function seedLines(): string[] {
  return readSeed().toString('utf8').split('\n');
}

function lineNumberOf(text: string, startsWith: string, nth = 1): number {
  let seen = 0;
  const i = text.split('\n').findIndex((l) => l.startsWith(startsWith) && ++seen === nth);
  if (i === -1) throw new Error(`no line starting with ${startsWith}`);
  return i + 1;
}

/**
 * A small export in the one-cell-per-line layout the seed's tail switches to: a heading, one month per line, then
 * each row's label and its values one per line, blank lines between cells.
 */
function cellsExport(rows: Array<[label: string, values: string[]]>, after = ''): string {
  const head = [SEED_TITLE, 'Fylke og tiltaksgruppe', 'Januar - Februar 2019', 'Opplæring', 'Januar', 'Februar'];
  const body = rows.flatMap(([label, values]) => [label, ...values]);
  return `${[...head, ...body].join('\n\n')}\n${after}`;
}

describe('DUPLICATE_REGION: a region listed twice in one section', () => {
  it('the seed with one county row listed twice (7,442 records before this check), at the second row', () => {
    // Line 31 is section 1's Oslo row.
    const lines = seedLines();
    expect(lines[30]?.startsWith('Oslo\t2 938\t')).toBe(true);
    lines.splice(31, 0, lines[30] ?? '');
    const e = parseError(Buffer.from(lines.join('\n')), 'dup.txt');
    expect({ code: e.code, line: e.line }).toEqual({ code: 'DUPLICATE_REGION', line: 32 });
    expect(e.detail).toContain('"Oslo" is Oslo again in section 1 (Opplæring), first at line 31');
  });

  it('two "I alt" rows, however each is labelled', () => {
    // Line 28 is section 1's "I alt opplæring"; a bare "I alt" row under its last row (line 48) is the same row.
    const lines = seedLines();
    expect([lines[27]?.split('\t')[0], lines[47]?.split('\t')[0]]).toEqual(['I alt opplæring', 'Trøndelag']);
    lines.splice(48, 0, `I alt\t${TWELVE}`);
    const e = parseError(Buffer.from(lines.join('\n')), 'dup.txt');
    expect({ code: e.code, line: e.line }).toEqual({ code: 'DUPLICATE_REGION', line: 49 });
    expect(e.detail).toContain('"I alt" is a second "I alt" row in section 1 (Opplæring), first at line 28');
  });

  it('in the one-cell-per-line layout, at the line of the second label, also with a Sami form', () => {
    const text = cellsExport([
      ['I alt opplæring', ['10', '12']],
      ['Oslo', ['7', '8']],
      ['Oslo - Oslove', ['3', '4']],
    ]);
    const e = parseError(Buffer.from(text), 'cells.txt');
    expect({ code: e.code, line: e.line }).toEqual({ code: 'DUPLICATE_REGION', line: lineNumberOf(text, 'Oslo - Oslove') });
    expect(e.detail).toContain(`is Oslo again in section 1 (Opplæring), first at line ${lineNumberOf(text, 'Oslo')}`);
  });

  it('in the one-cell-per-line layout, a label wrapped over lines counts from its first line', () => {
    const text = cellsExport([
      ['I alt opplæring', ['10', '12']],
      ['Trøndelag', ['7', '8']],
      ['Trøndelag -\nTrööndelage', ['3', '4']],
    ]);
    expect(parseError(Buffer.from(text), 'cells.txt')).toMatchObject({
      code: 'DUPLICATE_REGION',
      line: lineNumberOf(text, 'Trøndelag -'),
    });
  });
});

describe('MISSING_TITLE: section text without the title line that starts a section', () => {
  it("the seed without section 2's title line: not Avklaringstiltak's rows as more rows of Opplæring", () => {
    // Line 52 is section 2's title line; without it, its breakdown line (54) becomes line 53.
    const lines = seedLines();
    expect([lines[51], lines[53]]).toEqual([SEED_TITLE, 'Fylke og tiltaksgruppe']);
    lines.splice(51, 1);
    const e = parseError(Buffer.from(lines.join('\n')), 'untitled.txt');
    expect({ code: e.code, line: e.line }).toEqual({ code: 'MISSING_TITLE', line: 53 });
    expect(e.detail).toContain('its rows would be read as more rows of section 1 (Opplæring)');
  });

  it('a footnote or notes block after the last section is a warning, but rows after it are an error', () => {
    // seedHead(48) ends with section 1's last row (Trøndelag, line 48).
    const footnote = `${seedHead(48)}\n\nMerknad: tallene for desember er foreløpige.\n`;
    const ok = parseWhole(Buffer.from(footnote), 'note.txt');
    expect(ok.ok && ok.records.length).toBe(21 * 12);
    expect(ok.ok && ok.summary.warnings.map((w) => [w.code, w.line])).toEqual([['IGNORED_TEXT', 51]]);
    // The seed's "Om tabellene" block (lines 7-15, with a period line) after the rows instead of before them.
    const notes = `${seedHead(48)}\n\n${seedLines().slice(6, 15).join('\n')}\n`;
    expect(notes).toContain('\nOm tabellene\n\nJanuar - Desember 2019\n');
    const notesOk = parseWhole(Buffer.from(notes), 'notes.txt');
    expect(notesOk.ok && notesOk.records.length).toBe(21 * 12);
    expect(notesOk.ok && notesOk.summary.warnings.map((w) => [w.code, w.line])).toEqual(
      [51, 53, 55, 57, 59].map((line) => ['IGNORED_TEXT', line]),
    );
    const rows = `${footnote}\nVestland\t${TWELVE}\n`;
    const e = parseError(Buffer.from(rows), 'note.txt');
    expect({ code: e.code, line: e.line }).toEqual({ code: 'MISSING_TITLE', line: 53 });
    expect(e.detail).toContain('rows resume after text that is not part of section 1 (Opplæring) (line 51)');
  });

  it('a header row of months after the rows, after a blank line or right under them', () => {
    const header = `\t${MONTHS_LINE}`;
    const spaced = parseError(Buffer.from(`${seedHead(48)}\n${header}\nVestland\t${TWELVE}\n`), 'h.txt');
    expect({ code: spaced.code, line: spaced.line }).toEqual({ code: 'MISSING_TITLE', line: 50 });
    const under = parseError(Buffer.from(`${seedHead(48)}${header}\nVestland\t${TWELVE}\n`), 'h.txt');
    expect({ code: under.code, line: under.line }).toEqual({ code: 'MISSING_TITLE', line: 49 });
    expect(under.detail).toContain('before this header row');
  });

  it('a new section without its title line after a one-cell-per-line section, at its breakdown line', () => {
    const next =
      'Fylke og tiltaksgruppe\n\nJanuar - Februar 2019\n\nAvklaringstiltak\n\nJanuar\n\nFebruar\n\nI alt avklaringstiltak\n\n5\n\n6\n';
    const text = cellsExport(
      [
        ['I alt opplæring', ['10', '12']],
        ['Oslo', ['10', '12']],
      ],
      `\n${next}`,
    );
    const e = parseError(Buffer.from(text), 'cells.txt');
    expect({ code: e.code, line: e.line }).toEqual({ code: 'MISSING_TITLE', line: lineNumberOf(text, 'Fylke og tiltaksgruppe', 2) });
  });
});

describe('REPEATED_SECTION', () => {
  it('whatever the breakdown line says: the lake keys data by main group, measure group and month', () => {
    // Section 1 (lines 19-48: "I alt" / Opplæring, 2019) again, under another breakdown line.
    const lines = seedLines();
    const again = lines.slice(18, 48);
    expect([again[0], again[2], again[6]]).toEqual([SEED_TITLE, 'Fylke og tiltaksgruppe', 'Opplæring']);
    again[2] = 'Fylke, hovedgrupper og tiltaksgrupper';
    const text = [...lines.slice(0, 48), '', '', ...again, ''].join('\n');
    const e = parseError(Buffer.from(text), 'again.txt');
    expect({ code: e.code, line: e.line }).toEqual({ code: 'REPEATED_SECTION', line: lineNumberOf(text, '\tJanuar', 2) });
    expect(e.detail).toContain('repeats months of the section at line 19');
  });
});
