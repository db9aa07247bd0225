/** Why an export cannot be read. A closed set, so that callers (CLI exit codes, rejection reports) can rely on it. */
export const PARSE_ERROR_CODES = [
  'EMPTY_FILE',
  'NOT_TEXT',
  'BAD_ENCODING',
  'NO_TABLE',
  'BAD_PERIOD',
  'BAD_HEADER',
  'BAD_NUMBER',
  'TOO_MANY_CELLS',
  'MISSING_CELLS',
  'REPEATED_SECTION',
  'DUPLICATE_REGION',
  'MISSING_TITLE',
  'LINE_TOO_LONG',
  'TOO_LARGE',
  // Spreadsheet downloads (docs/formats.md): refused whole, at line 0.
  /** A zip archive that holds no Excel workbook (a .docx, an .ods, a zipped folder). */
  'NOT_A_WORKBOOK',
  /** A workbook that cannot be read: a cut-off or damaged zip, a corrupt entry, unreadable sheet XML. */
  'BAD_WORKBOOK',
  /** An Excel 97-2003 binary workbook (.xls): save it as .xlsx. */
  'OLD_XLS',
  /** A password-protected workbook (an OLE container holding EncryptionInfo), or encrypted zip entries. */
  'ENCRYPTED_WORKBOOK',
  /** A workbook that would inflate past the limits on uncompressed size, entries or shared strings. */
  'ZIP_BOMB',
] as const;

export type ParseErrorCode = (typeof PARSE_ERROR_CODES)[number];

export interface ParseErrorDetails {
  code: ParseErrorCode;
  file: string;
  /** 1-based line of the problem; 0 when it concerns the whole file. */
  line: number;
  /**
   * When one cell is at fault: the 1-based character column in a text export, the 1-based column of the sheet in a
   * workbook (A = 1), the 1-based field in a delimited file.
   */
  column?: number;
  message: string;
  cause?: unknown;
}

export class ParseError extends Error {
  override readonly name = 'ParseError';
  readonly code: ParseErrorCode;
  readonly file: string;
  readonly line: number;
  readonly column: number | undefined;
  /** The message without the file/line prefix, for reports that show those separately. */
  readonly detail: string;

  constructor(details: ParseErrorDetails) {
    const at = details.column === undefined ? '' : ` (column ${details.column})`;
    super(`${details.file}:${details.line}: ${details.code}: ${details.message}${at}`, { cause: details.cause });
    this.code = details.code;
    this.file = details.file;
    this.line = details.line;
    this.column = details.column;
    this.detail = details.message;
  }
}

export function isParseError(e: unknown): e is ParseError {
  return e instanceof ParseError;
}
