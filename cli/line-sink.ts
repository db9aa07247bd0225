/**
 * Lines to a stream through 1 MiB buffers. Joining a batch of lines into one string first builds a tree of
 * string pieces that lives until the write and is then flattened: for `navlake parse` of a 4 MB export (370 MB of
 * NDJSON) that garbage was more than half the run. Each line here is encoded into the buffer at once.
 */
import type { Writable } from 'node:stream';
import { writeOut } from './format.ts';

const BUFFER_BYTES = 1 << 20;
const NEWLINE = 0x0a;

export class LineSink {
  private buffer = Buffer.allocUnsafe(BUFFER_BYTES);
  private used = 0;
  private readonly full: Buffer[] = [];

  /** `latin1` takes lines whose characters are bytes already (jsonLineEncoder's `utf8-as-latin1`). */
  constructor(
    private readonly stream: Writable,
    private readonly encoding: 'utf8' | 'latin1' = 'utf8',
  ) {}

  /** Buffers one line (a newline is added); nothing is written until flush(). */
  push(line: string): void {
    // A UTF-16 code unit is at most 3 bytes of UTF-8: only a line that might not fit is measured.
    const room = this.buffer.length - this.used - 1;
    if (line.length * 3 > room) {
      const bytes = Buffer.byteLength(line, this.encoding);
      if (bytes > room) this.rotate(bytes + 1);
    }
    this.used += this.buffer.write(line, this.used, this.encoding);
    this.buffer[this.used++] = NEWLINE;
  }

  /** Writes the buffers that are full, waiting for the stream to drain. */
  async flush(): Promise<void> {
    for (const b of this.full.splice(0)) await writeOut(this.stream, b);
  }

  /** Writes everything buffered. */
  async end(): Promise<void> {
    if (this.used > 0) this.rotate(0);
    await this.flush();
  }

  private rotate(atLeast: number): void {
    if (this.used > 0) this.full.push(this.buffer.subarray(0, this.used));
    this.buffer = Buffer.allocUnsafe(Math.max(BUFFER_BYTES, atLeast));
    this.used = 0;
  }
}
