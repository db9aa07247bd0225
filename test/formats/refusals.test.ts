// What the workbook front-end refuses, each a one-line ParseError with its own code at line 0: zips that are no
// workbook, cut or damaged workbooks, old binary and encrypted workbooks, workbooks with no table, and bombs.
import { deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { FormatParser, PARSE_ERROR_CODES, ParseError, WORKBOOK_LIMITS, parseBytes } from '../../lambdas/parser/index.ts';
import { seedText } from '../helpers/events.ts';
import { workbookZip, xlsxFromText, zipArchive } from './make-fixtures.ts';

function refusal(bytes: Uint8Array, file = 'upload.xlsx'): ParseError {
  try {
    parseBytes(bytes, { file });
  } catch (e) {
    if (!(e instanceof ParseError)) throw e;
    expect(PARSE_ERROR_CODES).toContain(e.code);
    expect(e.message).not.toMatch(/[\r\n]/);
    return e;
  }
  throw new Error('expected a refusal');
}

function expectRefusal(bytes: Uint8Array, code: ParseError['code'], says: string | RegExp): void {
  const e = refusal(bytes);
  expect([e.code, e.file, e.line]).toEqual([code, 'upload.xlsx', 0]);
  if (typeof says === 'string') expect(e.detail).toContain(says);
  else expect(e.detail).toMatch(says);
}

/** The first bytes of an OLE compound file with the given stream names in its directory (UTF-16LE, as stored). */
function oleFile(...streams: string[]): Uint8Array {
  const header = Buffer.alloc(512);
  Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]).copy(header);
  const directory = Buffer.alloc(128 * (streams.length + 1));
  for (const [i, name] of ['Root Entry', ...streams].entries()) Buffer.from(name, 'utf16le').copy(directory, i * 128);
  return new Uint8Array(Buffer.concat([header, directory]));
}

const SMALL_TABLE = 'Tittel\n\nFylke\n\nJanuar 2020\n\nOpplæring\n\n\tJanuar\nI alt\t5\nOslo\t5\n';

describe('not a workbook', () => {
  it('a zip of an export, a Word document, an OpenDocument spreadsheet', () => {
    expectRefusal(
      zipArchive([{ name: 'export.txt', data: seedText() }]),
      'NOT_A_WORKBOOK',
      'a zip archive of 1 file, not an Excel workbook',
    );
    expectRefusal(zipArchive([{ name: 'word/document.xml', data: '<w:document/>' }]), 'NOT_A_WORKBOOK', 'a Word document (.docx)');
    expectRefusal(
      zipArchive([
        { name: 'mimetype', data: 'application/vnd.oasis.opendocument.spreadsheet', method: 0 },
        { name: 'content.xml', data: '<office:document-content/>' },
      ]),
      'NOT_A_WORKBOOK',
      'an OpenDocument spreadsheet (.ods): save it as .xlsx',
    );
  });

  it('an old binary .xls: save it as .xlsx', () => {
    expectRefusal(oleFile('Workbook', '\u0005SummaryInformation'), 'OLD_XLS', 'save it as .xlsx');
  });

  it('an OLE file that is no workbook at all', () => {
    expectRefusal(oleFile('WordDocument', '1Table'), 'NOT_A_WORKBOOK', 'OLE compound file');
  });
});

describe('encrypted', () => {
  it('a password-protected workbook: an OLE container holding EncryptionInfo and EncryptedPackage', () => {
    expectRefusal(oleFile('\u0006DataSpaces', 'EncryptionInfo', 'EncryptedPackage'), 'ENCRYPTED_WORKBOOK', 'remove the password');
  });

  it('a zip whose workbook parts are encrypted (zip encryption flag)', () => {
    const parts = [
      { name: '_rels/.rels', data: '' },
      { name: 'xl/workbook.xml', data: '<workbook/>', flags: 1 },
    ];
    expectRefusal(zipArchive(parts), 'ENCRYPTED_WORKBOOK', 'xl/workbook.xml is encrypted');
  });
});

describe('damaged', () => {
  const good = xlsxFromText(seedText());

  it('a download cut off: no zip directory at the end', () => {
    expectRefusal(good.subarray(0, Math.floor(good.length / 2)), 'BAD_WORKBOOK', 'cut off');
    expectRefusal(good.subarray(0, 3000), 'BAD_WORKBOOK', 'cut off');
  });

  it('a corrupted sheet: bad deflate data or a CRC that does not match', () => {
    for (const at of [2_000, 10_000, 20_000]) {
      const bytes = Uint8Array.from(good);
      bytes[at] = (bytes[at] as number) ^ 0x55;
      expectRefusal(bytes, 'BAD_WORKBOOK', /damaged|CRC|not where|inflates/);
    }
  });

  it('a shared string index that does not exist', () => {
    const xml = '<worksheet><sheetData><row r="1"><c r="A1" t="s"><v>7</v></c></row></sheetData></worksheet>';
    const e = refusal(workbookZip([{ name: 'T', xml }], null));
    expect([e.code, e.file, e.detail]).toEqual(['BAD_WORKBOOK', 'upload.xlsx:T', 'the cell A1 names a shared string that does not exist']);
  });
});

describe('no table', () => {
  it('a workbook whose sheets are empty', () => {
    expectRefusal(
      workbookZip(
        [
          { name: 'Ark1', xml: '<worksheet><sheetData/></worksheet>' },
          { name: 'Ark2', xml: '<worksheet><sheetData><row r="3"/></sheetData></worksheet>' },
        ],
        null,
      ),
      'NO_TABLE',
      `the workbook's sheets ("Ark1", "Ark2") are empty`,
    );
  });

  it('a workbook of notes only: the core says it, naming the sheet', () => {
    const xml =
      '<worksheet><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>Om tabellene</t></is></c></row><row r="3"><c r="A3" t="inlineStr"><is><t>Ingen tall her.</t></is></c></row></sheetData></worksheet>';
    const e = refusal(workbookZip([{ name: 'Notater', xml }], null));
    expect([e.code, e.file, e.line]).toEqual(['NO_TABLE', 'upload.xlsx:Notater', 3]);
  });
});

describe('bombs', () => {
  // 80 MB of zeros deflate to 80 KB: over the 64 MiB budget, whatever the directory says.
  const zeros = Buffer.alloc(80 * 1024 * 1024);
  const sheetOf = (declaredSize?: number) =>
    zipArchive([
      { name: '_rels/.rels', data: '' },
      { name: 'xl/workbook.xml', data: '<workbook><sheets><sheet name="T" r:id="rId1"/></sheets></workbook>' },
      {
        name: 'xl/_rels/workbook.xml.rels',
        data: '<Relationships><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
      },
      { name: 'xl/worksheets/sheet1.xml', data: zeros, ...(declaredSize === undefined ? {} : { declaredSize }) },
    ]);

  it('a part that declares more than the budget is refused before it is inflated', () => {
    const bomb = sheetOf();
    expect(bomb.length).toBeLessThan(200_000);
    const started = performance.now();
    expectRefusal(bomb, 'ZIP_BOMB', `would inflate to more than ${WORKBOOK_LIMITS.maxUncompressedBytes} bytes`);
    expect(performance.now() - started).toBeLessThan(500);
  });

  it('a directory that lies (declares 1 KB) is caught at 1 KB + 1 byte of output, not 80 MB', () => {
    const before = process.memoryUsage().arrayBuffers;
    expectRefusal(sheetOf(1024), 'ZIP_BOMB', 'xl/worksheets/sheet1.xml inflates past the 1024 bytes its zip directory declares');
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(16 * 1024 * 1024);
  });

  it('too many entries', () => {
    const entries = Array.from({ length: WORKBOOK_LIMITS.maxEntries + 1 }, (_, i) => ({
      name: `x/${i}.xml`,
      data: '',
      method: 0 as const,
    }));
    expectRefusal(zipArchive(entries), 'ZIP_BOMB', `${WORKBOOK_LIMITS.maxEntries + 1} entries`);
  });

  it('too many shared strings', () => {
    const sst = `<sst>${'<si><t>x</t></si>'.repeat(WORKBOOK_LIMITS.maxSharedStrings + 1)}</sst>`;
    expectRefusal(workbookZip([{ name: 'T', xml: '<worksheet><sheetData/></worksheet>' }], sst), 'ZIP_BOMB', 'shared strings');
  });

  it("the budget holds whatever the upload cap: limits are the parser's own", () => {
    const parser = new FormatParser({ file: 'upload.xlsx' }, { workbook: { ...WORKBOOK_LIMITS, maxUncompressedBytes: 100_000 } });
    parser.write(xlsxFromText(seedText()));
    expect(() => parser.end()).toThrow(/ZIP_BOMB: the workbook's parts would inflate to more than 100000 bytes/);
  });

  it('a workbook file over the workbook size limit is TOO_LARGE as soon as it is', () => {
    const small = new FormatParser({ file: 'upload.xlsx' }, { maxWorkbookBytes: 20_000 });
    expect(small.write(xlsxFromText(seedText()))).toEqual([]);
    expect(() => small.end()).toThrow(/upload\.xlsx:0: TOO_LARGE: a workbook of \d+ bytes or more; the limit is 20000 bytes/);
    // Streamed: refused at the chunk that crosses the limit, not after the rest has been read.
    const big = zipArchive([{ name: 'a.bin', data: new Uint8Array(200_000).map((_, i) => (i * 7919) % 251), method: 0 }]);
    const streamed = new FormatParser({ file: 'upload.xlsx' }, { maxWorkbookBytes: 100_000 });
    expect(streamed.write(big.subarray(0, 70_000))).toEqual([]);
    expect(() => streamed.write(big.subarray(70_000, 110_000))).toThrow(/TOO_LARGE/);
  });

  it('deflate really is that compact (the bomb is real)', () => {
    expect(deflateRawSync(Buffer.alloc(1024 * 1024)).length).toBeLessThan(2_000);
  });
});

describe('the text path', () => {
  it('a small text export reads as before', () => {
    expect(parseBytes(Buffer.from(SMALL_TABLE), { file: 'small.txt' }).summary.records).toBe(2);
  });

  it('bad options throw at once, before any input, as the core does', () => {
    expect(() => new FormatParser({ file: 'x.txt', vintage: '2020-13' })).toThrow(RangeError);
    expect(new FormatParser({ file: 'x.txt' }).summary()).toMatchObject({ file: 'x.txt', records: 0, dataset: null });
  });
});
