// The delimited-text front-end: its record reader split at every position, the sniffing that tells a CSV from NAV's
// own text export, and errors that name the file's line (not the record's) and the field.
import { describe, expect, it } from 'vitest';
import { type DelimitedFormat, DelimitedReader, sniffDelimited } from '../../lambdas/parser/front-ends/delimited.ts';
import { ParseError, parseBytes } from '../../lambdas/parser/index.ts';
import { exportText, seedText } from '../helpers/events.ts';
import { readSeed } from '../helpers/exports.ts';
import { encodeWindows1252 } from '../helpers/windows-1252.ts';
import { csvFromText } from './make-fixtures.ts';

type Rec = [string[], number, boolean];

function records(pieces: readonly string[], format: DelimitedFormat, maxRecord = 1000): Rec[] {
  const out: Rec[] = [];
  const reader = new DelimitedReader(
    format,
    maxRecord,
    (cells, line, terminated) => out.push([cells, line, terminated]),
    (line) => {
      throw new Error(`too long at ${line}`);
    },
  );
  for (const p of pieces) reader.push(p);
  reader.end();
  return out;
}

const SEMI: DelimitedFormat = { delimiter: ';', skipFirstLine: false };

describe('DelimitedReader', () => {
  const sample =
    'Tittel;;\r\n"Andre på tiltak,\r\njobbskaping og\r\negenetablering";;\r\n;Januar;Februar\r\n"Oslo ""sentrum""";1;"2;3"\r\nBergen;"";x"y\r\n\r\n"cut ;';
  const expected: Rec[] = [
    [['Tittel', '', ''], 1, true],
    [['Andre på tiltak,\njobbskaping og\negenetablering', '', ''], 2, true],
    [['', 'Januar', 'Februar'], 5, true],
    [['Oslo "sentrum"', '1', '2;3'], 6, true],
    [['Bergen', '', 'x"y'], 7, true],
    [[''], 8, true],
    // A quoted cell still open at the end: the file was cut inside it.
    [['cut ;'], 9, false],
  ];

  it('reads quotes, doubled quotes, delimiters and line breaks inside quotes, CRLF, and a cut at the end', () => {
    expect(records([sample], SEMI)).toEqual(expected);
  });

  it('gives the same records however the text is split: at every position, and one character at a time', () => {
    for (let at = 0; at <= sample.length; at++) {
      expect([at, records([sample.slice(0, at), sample.slice(at)], SEMI)]).toEqual([at, expected]);
    }
    for (let a = 1; a < sample.length; a += 3) {
      for (let b = a + 1; b < sample.length; b += 5) {
        expect([a, b, records([sample.slice(0, a), sample.slice(a, b), sample.slice(b)], SEMI)]).toEqual([a, b, expected]);
      }
    }
    expect(records([...sample], SEMI)).toEqual(expected);
  });

  it('CR alone and LF alone end lines too; a last line without a break is unterminated', () => {
    expect(records(['a;b\rc;d\ne;f'], SEMI)).toEqual([
      [['a', 'b'], 1, true],
      [['c', 'd'], 2, true],
      [['e', 'f'], 3, false],
    ]);
  });

  it('skips Excel\'s "sep=" line but counts it', () => {
    expect(records(['sep=;\na;b\n'], { delimiter: ';', skipFirstLine: true })).toEqual([[['a', 'b'], 2, true]]);
  });

  it('refuses a record past the limit as soon as it is, with the line it started on', () => {
    expect(() => records(['a;b\n"never closed', 'x'.repeat(2000)], SEMI)).toThrow('too long at 2');
  });
});

describe('sniffDelimited', () => {
  it('NAV text export: tab-separated, not quoted (its notes line opens with a quote that closes mid-cell)', () => {
    expect(sniffDelimited(seedText(), true)).toBeNull();
    expect(sniffDelimited(exportText({ year: 2020, firstMonth: 1, lastMonth: 3 }), true)).toBeNull();
  });

  it('finds ; , and quoted tab from the header row, and the sep= line', () => {
    expect(sniffDelimited('Tittel\n\n;Januar;Februar\nOslo;1;2\n', true)).toEqual({ delimiter: ';', skipFirstLine: false });
    expect(sniffDelimited('Tittel\n\n"";"Januar";"Februar"\n', true)).toEqual({ delimiter: ';', skipFirstLine: false });
    expect(sniffDelimited('Tittel\n"Nedsatt, på tiltak"\n,Januar,Februar\n', true)).toEqual({ delimiter: ',', skipFirstLine: false });
    expect(sniffDelimited('Tittel\n"Andre på\ntiltak"\n\tJanuar\tFebruar\n', true)).toEqual({ delimiter: '\t', skipFirstLine: false });
    expect(sniffDelimited('sep=,\nTittel\n', true)).toEqual({ delimiter: ',', skipFirstLine: true });
  });

  it('with no header row in sight, or only an incomplete last line, it is a text export', () => {
    expect(sniffDelimited('Tittel\n\nFylke; og tiltaksgruppe\n', true)).toBeNull();
    expect(sniffDelimited('Tittel\n;Januar;Feb', false)).toBeNull();
    expect(sniffDelimited('Tittel\n;Januar;Feb', true)).toEqual({ delimiter: ';', skipFirstLine: false });
  });
});

describe('delimited files through the parser', () => {
  const csv = (text: string) => csvFromText(text, { delimiter: ';', encoding: 'utf-8', eol: '\r\n' });

  it('an error names the file line, after a heading quoted over three lines, and the field', () => {
    // The seed's last full section holds a row "Oslo" after a heading wrapped over two lines (lines 993-994).
    const text = seedText().replace('Oslo\t31\t33\t59', 'Oslo\t31\t3x3\t59');
    const line = text.split('\n').findIndex((l) => l.startsWith('Oslo\t31\t3x3')) + 1;
    try {
      parseBytes(csv(text), { file: 'bad.csv' });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ParseError);
      const p = e as ParseError;
      expect([p.code, p.file, p.line, p.column]).toEqual(['BAD_NUMBER', 'bad.csv', line, 3]);
      expect(p.message).toBe(
        `bad.csv:${line}: BAD_NUMBER: expected a whole number or "*" in Februar for "Oslo", found "3x3" (field 3) (column 3)`,
      );
    }
  });

  it('a Latin-1 file with a byte that is not Windows-1252 text is still read; a UTF-8 file with a bad byte names its line', () => {
    const latin1 = csvFromText(seedText(), { delimiter: ';', encoding: 'windows-1252' });
    expect(parseBytes(latin1, { file: 'a.csv' }).summary).toMatchObject({ encoding: 'windows-1252', records: 7430 });
    const utf8 = Buffer.from(csv(seedText()));
    const at = utf8.indexOf(Buffer.from('Oslo;1871'));
    utf8[at + 1] = 0xff;
    const line = utf8.subarray(0, at).toString('latin1').split('\r\n').length;
    const e = (() => {
      try {
        parseBytes(utf8, { file: 'b.csv' });
      } catch (err) {
        return err as ParseError;
      }
      throw new Error('expected BAD_ENCODING');
    })();
    expect([e.code, e.line]).toEqual(['BAD_ENCODING', line]);
  });

  it('a row with a value too many is TOO_MANY_CELLS at its field; a decimal that is not ",0" or ",00" is BAD_NUMBER', () => {
    const text = seedText().replace('Akershus\t1 682\t', 'Akershus\t1 682,5\t');
    expect(() => parseBytes(csv(text), { file: 'c.csv' })).toThrow(/c\.csv:\d+: BAD_NUMBER: .*found "1 682,5"/);
    const thousand = seedText().replace('Akershus\t1 682\t', 'Akershus\t1,000\t');
    expect(() => parseBytes(csv(thousand), { file: 'd.csv' })).toThrow(/BAD_NUMBER: .*found "1,000"/);
    const extra = seedText().replace(
      'Akershus\t1 682\t1 756\t1 812\t1 809\t1 796\t1 562\t1 101\t1 341\t1 449\t1 292\t1 277\t1 235',
      (row) => `${row}\t7`,
    );
    expect(() => parseBytes(csv(extra), { file: 'e.csv' })).toThrow(
      /e\.csv:\d+: TOO_MANY_CELLS: 13 values where the header has 12 months \(field 14\)/,
    );
  });

  it('a CSV cut inside its last row keeps what is whole and warns, as a cut text export does', () => {
    const whole = readSeed().toString('utf8');
    const cutText = whole.slice(0, whole.indexOf('Oslo\t2 938\t3 002') + 'Oslo\t2 938\t3 0'.length);
    const fromText = parseBytes(Buffer.from(cutText), { file: 'cut.txt' });
    const fromCsv = parseBytes(csvFromText(cutText, { delimiter: ';', numbers: 'as-text' }), { file: 'cut.txt' });
    expect(fromCsv.records).toEqual(fromText.records);
    expect(fromCsv.summary.warnings).toEqual(fromText.summary.warnings);
    expect(fromCsv.summary.cutOffSections).toHaveLength(1);
  });

  it('Latin-1 bytes of a ;-separated file, without a BOM', () => {
    const bytes = encodeWindows1252(';Januar\n');
    expect(sniffDelimited(Buffer.from(bytes).toString('latin1'), true)).toEqual({ delimiter: ';', skipFirstLine: false });
  });
});
