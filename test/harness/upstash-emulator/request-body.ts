import { JsonNumber, JsonSyntaxError, JsonValue, parseJson } from './json-parse';

/** A command as Redis receives it: name first, every element already text. */
export type CommandArgs = [string, ...string[]];

/** The request body is unusable; the server answers 400 with this message. */
export class BadRequestError extends Error {}

const INTEGER_LITERAL = /^-?\d+$/;

/**
 * Turns one JSON array element into the text Redis gets, following the
 * protocol reference §3.
 */
function toArgument(value: JsonValue, index: number): string {
  if (typeof value === 'string') return value;
  if (value instanceof JsonNumber) {
    // Integer literals pass through verbatim so big integers from non-JS
    // callers survive. Anything else is reformatted the way JS prints numbers
    // (shortest round-trip form: "1.50" -> "1.5", "1e21" -> "1e+21"), which is
    // exactly the text @upstash/redis meant when it serialized the number.
    return INTEGER_LITERAL.test(value.literal) ? value.literal : String(Number(value.literal));
  }
  if (value === true) return 'true';
  if (value === false) return 'false';
  // JSON null only appears when a JS caller passed `undefined` (the client
  // already sends JS null as the string "null"). Upstash's behaviour is
  // unverified; we choose the empty string because it never fails the whole
  // request and is what `undefined` most plausibly means for a value.
  if (value === null) return '';
  throw new BadRequestError(`ERR invalid argument at index ${index}: nested arrays and objects are not allowed, send them as JSON strings`);
}

export function toCommand(value: JsonValue): CommandArgs {
  if (!Array.isArray(value)) throw new BadRequestError('ERR a command must be a JSON array');
  if (value.length === 0) throw new BadRequestError('ERR empty command');
  const [name, ...rest] = value.map(toArgument);
  if (name === undefined || name === '') throw new BadRequestError('ERR empty command name');
  return [name, ...rest];
}

export function toCommandList(value: JsonValue): CommandArgs[] {
  if (!Array.isArray(value) || !value.every(Array.isArray)) {
    throw new BadRequestError('ERR a pipeline or transaction body must be a JSON array of command arrays');
  }
  if (value.length === 0) throw new BadRequestError('ERR empty pipeline');
  return value.map(toCommand);
}

export function parseBody(raw: string): JsonValue {
  try {
    return parseJson(raw);
  } catch (err) {
    if (err instanceof JsonSyntaxError) throw new BadRequestError(`ERR failed to parse request body as JSON: ${err.message}`);
    throw err;
  }
}
