/**
 * Logical line (what the core counts) to source line or sheet row. Only the points where the two stop running in
 * step are kept, so a delimited file streamed through keeps a few numbers, not one per line.
 */
export class LineMap {
  private readonly logical: number[] = [1];
  private readonly source: number[] = [1];

  /** Logical line n came from source line `line`; n only grows from call to call. */
  set(n: number, line: number): void {
    const last = this.logical.length - 1;
    if ((this.source[last] as number) + (n - (this.logical[last] as number)) !== line) {
      this.logical.push(n);
      this.source.push(line);
    }
  }

  line(n: number): number {
    let lo = 0;
    let hi = this.logical.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.logical[mid] as number) <= n) lo = mid;
      else hi = mid - 1;
    }
    return (this.source[lo] as number) + (n - (this.logical[lo] as number));
  }
}
