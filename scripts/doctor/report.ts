/**
 * How the doctor speaks: a progress line before each step, then one verdict line per check, then a
 * summary. Every line goes through `scrub`, so a credential that slipped into an error message
 * (a server echoing its input, a URL with a token) is masked before it is printed.
 */
export type Verdict = 'pass' | 'warn' | 'fail' | 'skip';

export interface CheckOutcome {
  readonly verdict: Verdict;
  /** One line: what was found. */
  readonly summary: string;
  /** For a warning or failure: what to do about it. */
  readonly fix?: string;
}

export const pass = (summary: string): CheckOutcome => ({ verdict: 'pass', summary });
export const warn = (summary: string, fix?: string): CheckOutcome => ({ verdict: 'warn', summary, fix });
export const fail = (summary: string, fix?: string): CheckOutcome => ({ verdict: 'fail', summary, fix });
export const skip = (summary: string): CheckOutcome => ({ verdict: 'skip', summary });

const LABEL: Readonly<Record<Verdict, string>> = { pass: 'PASS', warn: 'WARN', fail: 'FAIL', skip: 'SKIP' };
const MASK = '****';

export class Reporter {
  private readonly counts: Record<Verdict, number> = { pass: 0, warn: 0, fail: 0, skip: 0 };
  private secrets: string[] = [];

  constructor(private readonly write: (line: string) => void) {}

  /** Values never to print; also masked in their URL-encoded form. */
  addSecrets(values: readonly string[]): void {
    for (const value of values) {
      if (value.length === 0) continue;
      this.secrets.push(value, encodeURIComponent(value));
    }
    // Longest first, so a secret that contains another is masked whole.
    this.secrets = [...new Set(this.secrets)].sort((a, b) => b.length - a.length);
  }

  scrub(text: string): string {
    return this.secrets.reduce((result, secret) => result.split(secret).join(MASK), text);
  }

  line(text: string): void {
    this.write(this.scrub(text));
  }

  progress(step: number, total: number, name: string, doing: string): void {
    this.line(`[${step}/${total}] ${name}: ${doing} ...`);
  }

  verdict(name: string, outcome: CheckOutcome): void {
    this.counts[outcome.verdict] += 1;
    this.line(`  ${LABEL[outcome.verdict]} ${name}: ${outcome.summary}`);
    if (outcome.fix) this.line(`       fix: ${outcome.fix}`);
  }

  get failed(): boolean {
    return this.counts.fail > 0;
  }

  summary(): void {
    const { pass: passed, warn: warnings, fail: failures, skip: skipped } = this.counts;
    const overall = failures > 0 ? 'FAIL' : warnings > 0 ? 'PASS with warnings' : 'PASS';
    this.line(`Result: ${overall} (${passed} passed, ${warnings} warnings, ${failures} failed, ${skipped} skipped)`);
  }
}
