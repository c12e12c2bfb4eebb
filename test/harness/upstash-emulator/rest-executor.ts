import { refusalFor } from './command-policy';
import type { CommandOutcome, RedisBackend } from './redis-backend';
import { ResponseEncoding, encodeResult } from './reply-encoding';
import { CommandArgs, parseBody, toCommand, toCommandList } from './request-body';
import type { PreparedCommand, ScriptRewriter } from './script-rewriter';

export type RestRoute = 'command' | 'pipeline' | 'multi-exec';

/** Status and JSON text of a REST answer; HTTP framing is the caller's job. */
export interface RestReply {
  status: number;
  body: string;
}

type Prepared = PreparedCommand | { refused: string };

function errorBody(message: string): string {
  return JSON.stringify({ error: message });
}

/** Pipeline and transaction entries carry exactly one of `result` / `error`, never both. */
function entryBody(outcome: CommandOutcome, encoding: ResponseEncoding): string {
  return outcome.ok ? `{"result":${encodeResult(outcome.reply, encoding)}}` : errorBody(outcome.error);
}

/**
 * Turns a request body for one of the three REST endpoints into the answer
 * Upstash would give (protocol reference §4). Body errors surface as
 * BadRequestError and backend outages as BackendUnavailableError, both thrown.
 */
export class RestExecutor {
  constructor(
    private readonly backend: RedisBackend,
    private readonly scripts: ScriptRewriter,
  ) {}

  execute(route: RestRoute, body: string, encoding: ResponseEncoding): Promise<RestReply> {
    switch (route) {
      case 'command':
        return this.command(body, encoding);
      case 'pipeline':
        return this.pipeline(body, encoding);
      case 'multi-exec':
        return this.transaction(body, encoding);
    }
  }

  private prepare(command: CommandArgs): Prepared {
    const refusal = refusalFor(command);
    return refusal === null ? this.scripts.prepare(command) : { refused: refusal };
  }

  private async command(body: string, encoding: ResponseEncoding): Promise<RestReply> {
    const prepared = this.prepare(toCommand(parseBody(body)));
    if ('refused' in prepared) return { status: 400, body: errorBody(prepared.refused) };
    const outcome = await this.backend.run(prepared);
    return outcome.ok
      ? { status: 200, body: `{"result":${encodeResult(outcome.reply, encoding)}}` }
      : { status: 400, body: errorBody(outcome.error) };
  }

  private async pipeline(body: string, encoding: ResponseEncoding): Promise<RestReply> {
    const prepared = toCommandList(parseBody(body)).map((c) => this.prepare(c));
    // Refused commands fail on their own, like any other per-command error;
    // the rest still run, in order, as one backend pipeline.
    const runnable = prepared.filter((p): p is PreparedCommand => !('refused' in p));
    const ran = await this.backend.runPipeline(runnable);
    let next = 0;
    const outcomes = prepared.map((p): CommandOutcome => {
      if ('refused' in p) return { ok: false, error: p.refused };
      const outcome = ran[next++];
      if (outcome === undefined) throw new Error('pipeline outcome count mismatch');
      return outcome;
    });
    return { status: 200, body: `[${outcomes.map((o) => entryBody(o, encoding)).join(',')}]` };
  }

  private async transaction(body: string, encoding: ResponseEncoding): Promise<RestReply> {
    const prepared = toCommandList(parseBody(body)).map((c) => this.prepare(c));
    // An unsupported command discards the whole transaction, as upstream.
    const runnable: PreparedCommand[] = [];
    for (const p of prepared) {
      if ('refused' in p) return { status: 400, body: errorBody(p.refused) };
      runnable.push(p);
    }
    const result = await this.backend.runTransaction(runnable);
    // A discarded transaction (EXECABORT) is one error for the whole request.
    if (result.aborted) return { status: 400, body: errorBody(result.error) };
    return { status: 200, body: `[${result.outcomes.map((o) => entryBody(o, encoding)).join(',')}]` };
  }
}
