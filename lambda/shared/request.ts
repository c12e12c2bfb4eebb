/**
 * From an API Gateway REST proxy event (payload format 1.0) to validated request input.
 *
 * Every way an event can be wrong ends as a BadRequestError naming the field, so the handler
 * answers 400 and never 500: the envelope itself, an undecodable or oversized body, malformed
 * JSON, a body that is not an object, missing, unknown or mistyped fields, an unknown query
 * parameter or one given twice. A body over the size limit is the one exception: 413.
 */
import type { FieldError } from './http';
import { describe, type RequestShape } from './schemas';

/** Largest accepted body after base64 decoding. The real bodies are well under 1 KiB. */
export const MAX_BODY_BYTES = 16 * 1024;

export class BadRequestError extends Error {
  readonly errors: readonly [FieldError, ...FieldError[]];

  constructor(field: string, detail: string, more: readonly FieldError[] = []) {
    super(`${field}: ${detail}`);
    this.errors = [{ field, detail }, ...more];
  }
}

type RawEvent = Record<string, unknown>;

export interface ApiRequest {
  readonly method: string;
  readonly resource: string | undefined;
  readonly path: string;
  readonly pathParameters: Readonly<Record<string, string>>;
  /** Every value of every query parameter. */
  readonly query: Readonly<Record<string, readonly string[]>>;
  readonly body: string | null;
  readonly isBase64Encoded: boolean;
  readonly requestId: string | undefined;
  /**
   * Who called, as API Gateway's IAM authorization established it (the caller's IAM principal ARN,
   * else its caller id); undefined for unsigned calls (the local server). Audit logs record it.
   */
  readonly caller: string | undefined;
}

export function parseEvent(event: unknown): ApiRequest {
  if (!isObject(event)) throw new BadRequestError('event', 'must be an API Gateway proxy event object');
  const raw = event as RawEvent;
  const [first, ...more] = envelopeErrors(raw);
  if (first) throw new BadRequestError(first.field, first.detail, more);
  const text = (field: string): string | undefined => (raw[field] as string | null | undefined) ?? undefined;
  const requestContext = raw.requestContext as
    { requestId?: string | null; identity?: { userArn?: string | null; caller?: string | null } | null } | null | undefined;
  const identity = isObject(requestContext?.identity) ? requestContext.identity : undefined;
  return {
    method: raw.httpMethod as string,
    resource: text('resource'),
    path: text('path') ?? text('resource') ?? '/',
    pathParameters: withoutNulls(ownMap<string>(raw, 'pathParameters')),
    query: queryOf(ownMap<string>(raw, 'queryStringParameters'), ownMap<string[]>(raw, 'multiValueQueryStringParameters')),
    body: text('body') ?? null,
    isBase64Encoded: raw.isBase64Encoded === true,
    requestId: requestContext?.requestId ?? undefined,
    caller: [identity?.userArn, identity?.caller].find(isString),
  };
}

const isObject = (value: unknown): value is object => typeof value === 'object' && value !== null && !Array.isArray(value);
const isString = (value: unknown): value is string => typeof value === 'string';
const isBoolean = (value: unknown): value is boolean => typeof value === 'boolean';
const isStringList = (value: unknown): value is string[] => Array.isArray(value) && value.every(isString);

/**
 * Type checks of the fields of the proxy event the handlers read: lenient where API Gateway varies
 * (null versus absent), silent about fields they do not use. Every problem, in field order.
 */
function envelopeErrors(event: RawEvent): FieldError[] {
  const errors: FieldError[] = [];
  const check = (field: string, value: unknown, expected: string, accepts: (value: unknown) => boolean, required = false): void => {
    if (value === undefined || value === null) {
      if (required) errors.push({ field, detail: 'is required' });
    } else if (!accepts(value)) {
      errors.push({ field, detail: `must be ${expected}, got ${describe(value)}` });
    }
  };
  /** A map of names to values (or null): its entries are checked one by one, each named. */
  const checkMap = (field: string, expected: string, accepts: (value: unknown) => boolean): void => {
    const map = event[field];
    check(field, map, 'an object', isObject);
    if (!isObject(map)) return;
    for (const [key, value] of Object.entries(map)) check(`${field}.${key.slice(0, 64)}`, value, expected, accepts);
  };
  check('httpMethod', event.httpMethod, 'a string', isString, true);
  check('resource', event.resource, 'a string', isString);
  check('path', event.path, 'a string', isString);
  checkMap('headers', 'a string', isString);
  checkMap('multiValueHeaders', 'an array of strings', isStringList);
  checkMap('queryStringParameters', 'a string', isString);
  checkMap('multiValueQueryStringParameters', 'an array of strings', isStringList);
  checkMap('pathParameters', 'a string', isString);
  check('body', event.body, 'a string', isString);
  check('isBase64Encoded', event.isBase64Encoded, 'a boolean', isBoolean);
  check('requestContext', event.requestContext, 'an object', isObject);
  if (isObject(event.requestContext)) {
    check('requestContext.requestId', (event.requestContext as RawEvent).requestId, 'a string', isString);
  }
  return errors;
}

/**
 * A map of the event (already type-checked) copied into an object without a prototype, so that a
 * key named like an Object.prototype member (`__proto__`, `constructor`, `toString`) is an ordinary
 * key: a query parameter so named is then reported as unknown instead of being dropped, or of
 * colliding with the inherited member.
 */
function ownMap<T>(event: RawEvent, field: string): Record<string, T | null> {
  const map: Record<string, T | null> = Object.create(null) as Record<string, T | null>;
  const source = event[field];
  if (!isObject(source)) return map;
  for (const [key, value] of Object.entries(source)) map[key] = value as T | null;
  return map;
}

function withoutNulls(map: Record<string, string | null>): Record<string, string> {
  const result: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [key, value] of Object.entries(map)) if (value !== null) result[key] = value;
  return result;
}

/** API Gateway fills both maps; the multi-value one is complete, the other keeps the last value. */
function queryOf(single: Record<string, string | null>, multi: Record<string, string[] | null>): Record<string, string[]> {
  const query: Record<string, string[]> = Object.create(null) as Record<string, string[]>;
  for (const [key, value] of Object.entries(single)) if (value !== null) query[key] = [value];
  for (const [key, values] of Object.entries(multi)) if (values && values.length > 0) query[key] = [...values];
  return query;
}

/** Any query parameter the route does not read is a 400 naming it (a misspelt `tier` must not be ignored). */
export function rejectUnknownQueryParameters(request: ApiRequest, known: readonly string[]): void {
  const unknown = Object.keys(request.query).filter((key) => !known.includes(key));
  const [first, ...more] = unknown.map((key) => ({
    field: key.slice(0, 64),
    detail:
      known.length === 0
        ? 'is not a known query parameter (this route takes none)'
        : `is not a known query parameter (this route takes ${known.join(', ')})`,
  }));
  if (first) throw new BadRequestError(first.field, first.detail, more);
}

/** The body as text: base64-decoded when flagged, size-limited, valid UTF-8. Null when empty. */
export function bodyText(request: ApiRequest): string | null {
  const raw = request.body;
  if (raw === null || raw.length === 0) return null;
  // Cheap early rejection before allocating anything for a huge body.
  if (raw.length > (request.isBase64Encoded ? Math.ceil(MAX_BODY_BYTES / 3) * 4 + 4 : MAX_BODY_BYTES * 3)) {
    throw tooLarge();
  }
  let bytes: Buffer;
  if (request.isBase64Encoded) {
    const compact = raw.replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 === 1) {
      throw new BadRequestError('body', 'is flagged isBase64Encoded but is not valid base64');
    }
    bytes = Buffer.from(compact, 'base64');
  } else {
    bytes = Buffer.from(raw, 'utf8');
  }
  if (bytes.length > MAX_BODY_BYTES) throw tooLarge();
  if (bytes.length === 0) return null;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new BadRequestError('body', 'must be UTF-8 encoded JSON');
  }
}

/** A body over MAX_BODY_BYTES: answered 413, not 400, so a client can tell "too big" from "malformed". */
export class PayloadTooLargeError extends Error {
  constructor(readonly limitBytes: number) {
    super(`body: must be at most ${limitBytes} bytes`);
  }
}

function tooLarge(): PayloadTooLargeError {
  return new PayloadTooLargeError(MAX_BODY_BYTES);
}

/** Parses the JSON object body against `shape`. */
export function jsonBody<T>(request: ApiRequest, shape: RequestShape<T>): T {
  const text = bodyText(request);
  if (text === null) throw new BadRequestError('body', 'is required: a JSON object');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new BadRequestError('body', 'is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new BadRequestError('body', `must be a JSON object, got ${describe(value)}`);
  }
  return read(value, shape);
}

/** Parses the query string against `shape`; each parameter may appear once. */
export function queryParameters<T>(request: ApiRequest, shape: RequestShape<T>): T {
  const single: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [key, values] of Object.entries(request.query)) {
    if (values.length > 1) throw new BadRequestError(key, 'must be given once');
    single[key] = values[0]!;
  }
  return read(single, shape);
}

/** A path parameter; `path` and `resource` already matched the route, so absence is malformed input. */
export function pathParameter(request: ApiRequest, name: string): string {
  const value = request.pathParameters[name];
  if (value === undefined) throw new BadRequestError(name, 'is required in the path');
  return value;
}

function read<T>(value: object, shape: RequestShape<T>): T {
  const result = shape.read(value);
  if (result.ok) return result.value;
  const [first, ...more] = result.errors;
  throw new BadRequestError(first.field, first.detail, more);
}
