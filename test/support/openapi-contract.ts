/**
 * The HTTP API's contract, docs/openapi.yaml, as a test assertion: given one request and the
 * response it got, checks that both conform to the document.
 *
 * - The method and path name a documented operation; otherwise the answer must be the document's
 *   NotFound (404) or, for a documented path, MethodNotAllowed (405 with Allow).
 * - A request that breaks the document (unknown or repeated query parameter, a body that is not
 *   JSON or fails the body schema, a bad path parameter) must be refused: 400 or 413. A request
 *   that conforms may still be a 400: some rules depend on the configuration (an unknown tier).
 * - The status is documented for the operation; the Content-Type is a documented media type; the
 *   body validates against its schema; every documented required header is present, and every
 *   documented header that is present validates.
 *
 * Bodies and headers are validated with Ajv's JSON Schema 2020-12 dialect, the dialect of OpenAPI
 * 3.1 schemas, against the document itself (one compiled validator per schema location), so a
 * `$ref` means what it means in the document. The document's own validity is checked separately
 * (test/docs/openapi.test.ts).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { parse as parseYaml } from 'yaml';
import type { ApiReply, ApiTransport } from './http-scenarios';
import { bodyBytes, type ApiCall } from './lambda-events';

export const OPENAPI_PATH = join(__dirname, '..', '..', 'docs', 'openapi.yaml');
const DOCUMENT_ID = 'openapi.json';
const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
/** Statuses a server may answer a request that breaks the document with. */
const REFUSALS = [400, 413];

type Json = any;

export interface ContractRequest {
  readonly method: string;
  /** Path with optional query string, percent-encoded as on the wire. */
  readonly path: string;
  readonly body?: Buffer | undefined;
}

export interface ContractResponse {
  readonly status: number;
  /** Header names in any case. */
  readonly headers: Readonly<Record<string, string>>;
  readonly text: string;
}

export class ContractViolation extends Error {
  override readonly name = 'ContractViolation';
}

/** A node of the document and its JSON pointer (after following Reference Objects). */
interface Located {
  readonly node: Json;
  readonly pointer: string;
}

export interface OperationMatch {
  readonly template: string;
  readonly method: string;
  readonly operation: Located;
  /** Decoded path parameters, or the name of one that could not be decoded. */
  readonly pathParameters: Record<string, string>;
  readonly undecodable: string | undefined;
}

class OpenApiContract {
  readonly document: Json;
  private readonly ajv: Ajv2020;
  private readonly validators = new Map<string, ValidateFunction>();

  constructor(text: string) {
    this.document = parseYaml(text);
    // strict: false lets the OpenAPI-only parts of the document (paths, responses, `x-` keys) sit
    // beside the schemas; the schemas themselves are validated as 2020-12.
    this.ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(this.ajv);
    this.ajv.addSchema(this.document, DOCUMENT_ID);
  }

  /** The node at `pointer`, following `$ref`s of Reference Objects (responses, parameters, headers). */
  at(pointer: string): Located {
    let current: Located = { node: this.pointerValue(pointer), pointer };
    for (let hops = 0; current.node && typeof current.node.$ref === 'string'; hops += 1) {
      if (hops > 8 || !current.node.$ref.startsWith('#/')) throw new Error(`unresolvable $ref at ${current.pointer}`);
      const target = current.node.$ref.slice(1);
      current = { node: this.pointerValue(target), pointer: target };
    }
    return current;
  }

  private pointerValue(pointer: string): Json {
    let node: Json = this.document;
    for (const raw of pointer.split('/').slice(1)) {
      const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
      node = node?.[key];
    }
    return node;
  }

  /** Validates `value` against the schema found at `pointer`; returns the errors, empty when valid. */
  validate(pointer: string, value: unknown): string[] {
    let validator = this.validators.get(pointer);
    if (!validator) {
      validator = this.ajv.compile({ $ref: `${DOCUMENT_ID}#${pointer}` });
      this.validators.set(pointer, validator);
    }
    return validator(value) ? [] : formatErrors(validator.errors ?? []);
  }

  /** The documented operation for `method path`, or the documented path when only the method differs. */
  match(method: string, path: string): { operation?: OperationMatch; pathExists: boolean } {
    let pathExists = false;
    for (const template of Object.keys(this.document.paths ?? {})) {
      const parameters = matchTemplate(template, path);
      if (!parameters) continue;
      pathExists = true;
      const methodKey = method.toLowerCase();
      const pathItemPointer = `/paths/${escapePointer(template)}`;
      if (!(HTTP_METHODS as readonly string[]).includes(methodKey) || !this.document.paths[template][methodKey]) continue;
      return {
        pathExists,
        operation: {
          template,
          method: methodKey,
          operation: this.at(`${pathItemPointer}/${methodKey}`),
          pathParameters: parameters.decoded,
          undecodable: parameters.undecodable,
        },
      };
    }
    return { pathExists };
  }
}

let loaded: OpenApiContract | undefined;
export function openApiContract(): OpenApiContract {
  return (loaded ??= new OpenApiContract(readFileSync(OPENAPI_PATH, 'utf8')));
}

/** The parsed document (docs/openapi.yaml), as the local server serves it. */
export function openApiDocument(): Json {
  return openApiContract().document;
}

/** Throws ContractViolation naming every way the request or response departs from docs/openapi.yaml. */
export function assertConformsToContract(request: ContractRequest, response: ContractResponse): void {
  const problems = contractViolations(request, response);
  if (problems.length > 0) {
    throw new ContractViolation(
      `${request.method} ${request.path.slice(0, 200)} -> ${response.status} breaks docs/openapi.yaml:\n  - ${problems.join('\n  - ')}\n  body: ${response.text.slice(0, 500)}`,
    );
  }
}

export function contractViolations(request: ContractRequest, response: ContractResponse): string[] {
  const contract = openApiContract();
  const mark = request.path.indexOf('?');
  const path = mark === -1 ? request.path : request.path.slice(0, mark);
  const query = mark === -1 ? '' : request.path.slice(mark + 1);
  const headers = lowerCased(response.headers);
  const { operation, pathExists } = contract.match(request.method, path);

  if (!operation) {
    const allowed = pathExists ? [404, 405] : [404];
    if (!allowed.includes(response.status)) {
      return [`no documented operation serves this request, so the answer must be ${allowed.join(' or ')}`];
    }
    const name = response.status === 404 ? 'NotFound' : 'MethodNotAllowed';
    return responseViolations(contract, contract.at(`/components/responses/${name}`), response.status, headers, response.text);
  }

  const problems: string[] = [];
  const requestProblems = requestViolations(contract, operation, query, request.body);
  if (requestProblems.length > 0 && !REFUSALS.includes(response.status)) {
    problems.push(
      `the request breaks the document (${requestProblems.join('; ')}) but was answered ${response.status}, not ${REFUSALS.join(' or ')}`,
    );
  }
  const responses = operation.operation.node.responses ?? {};
  const statusKey = [String(response.status), `${String(response.status)[0]}XX`, 'default'].find((key) => key in responses);
  if (statusKey === undefined) {
    problems.push(`status ${response.status} is not documented for ${operation.method.toUpperCase()} ${operation.template}`);
    return problems;
  }
  const documented = contract.at(`${operation.operation.pointer}/responses/${escapePointer(statusKey)}`);
  problems.push(...responseViolations(contract, documented, response.status, headers, response.text));
  return problems;
}

/** Why the request breaks the document (empty when it conforms). */
function requestViolations(contract: OpenApiContract, match: OperationMatch, rawQuery: string, body: Buffer | undefined): string[] {
  const problems: string[] = [];
  const operation = match.operation.node;
  if (match.undecodable !== undefined) problems.push(`path parameter ${match.undecodable} is not valid percent-encoding`);

  const queryValues = new Map<string, string[]>();
  try {
    for (const [key, value] of new URLSearchParams(rawQuery)) queryValues.set(key, [...(queryValues.get(key) ?? []), value]);
  } catch {
    problems.push('the query string does not decode');
  }
  const pathItemPointer = `/paths/${escapePointer(match.template)}`;
  const parameterPointers = [
    ...(contract.at(pathItemPointer).node.parameters ?? []).map((_: unknown, index: number) => `${pathItemPointer}/parameters/${index}`),
    ...(operation.parameters ?? []).map((_: unknown, index: number) => `${match.operation.pointer}/parameters/${index}`),
  ];
  const documentedQuery = new Set<string>();
  for (const pointer of parameterPointers) {
    const parameter = contract.at(pointer);
    const { name, in: location, required } = parameter.node;
    if (location === 'query') documentedQuery.add(name);
    const values = location === 'query' ? queryValues.get(name) : location === 'path' ? [match.pathParameters[name]] : undefined;
    if (values === undefined || values[0] === undefined) {
      if (required && !(location === 'path' && match.undecodable === name)) problems.push(`${location} parameter ${name} is required`);
      continue;
    }
    const schema = contract.at(`${parameter.pointer}/schema`);
    if (values.length > 1 && resolvedSchemaType(contract, schema) !== 'array') {
      problems.push(`query parameter ${name} is given ${values.length} times`);
      continue;
    }
    const errors = contract.validate(schema.pointer, coerce(contract, schema, values[0]));
    if (errors.length > 0) problems.push(`${location} parameter ${name}: ${errors.join(', ')}`);
  }
  for (const key of queryValues.keys()) {
    if (!documentedQuery.has(key)) problems.push(`query parameter ${key} is not documented (unknown parameters are rejected)`);
  }

  const requestBody = operation.requestBody ? contract.at(`${match.operation.pointer}/requestBody`) : undefined;
  if (!requestBody) return problems;
  if (!body || body.length === 0) {
    if (requestBody.node.required) problems.push('the request body is required');
    return problems;
  }
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch {
    problems.push('the request body is not UTF-8 JSON');
    return problems;
  }
  // The API does not look at the request's Content-Type (so `curl -d` works): the JSON schema applies.
  const errors = contract.validate(`${requestBody.pointer}/content/application~1json/schema`, value);
  if (errors.length > 0) problems.push(`request body: ${errors.join(', ')}`);
  return problems;
}

function responseViolations(
  contract: OpenApiContract,
  documented: Located,
  status: number,
  headers: Record<string, string>,
  text: string,
): string[] {
  const problems: string[] = [];
  for (const name of Object.keys(documented.node.headers ?? {})) {
    if (name.toLowerCase() === 'content-type') continue; // described by `content`, per the specification
    const header = contract.at(`${documented.pointer}/headers/${escapePointer(name)}`);
    const value = headers[name.toLowerCase()];
    if (value === undefined) {
      if (header.node.required) problems.push(`required header ${name} is missing`);
      continue;
    }
    const schema = contract.at(`${header.pointer}/schema`);
    const errors = contract.validate(schema.pointer, coerce(contract, schema, value));
    if (errors.length > 0) problems.push(`header ${name}: ${JSON.stringify(value)} ${errors.join(', ')}`);
  }

  const content = documented.node.content;
  if (!content) return problems;
  const mediaType = (headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (!(mediaType in content)) {
    problems.push(`Content-Type ${JSON.stringify(headers['content-type'])} is not one of ${Object.keys(content).join(', ')}`);
    return problems;
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    problems.push(`the ${status} body is not JSON`);
    return problems;
  }
  const errors = contract.validate(`${documented.pointer}/content/${escapePointer(mediaType)}/schema`, body);
  if (errors.length > 0) problems.push(`response body: ${errors.join(', ')}`);
  return problems;
}

/** Header and parameter values are strings on the wire; an integer schema describes their digits. */
function coerce(contract: OpenApiContract, schema: Located, value: string): unknown {
  const type = resolvedSchemaType(contract, schema);
  return (type === 'integer' || type === 'number') && /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value;
}

function resolvedSchemaType(contract: OpenApiContract, schema: Located): unknown {
  return contract.at(schema.pointer).node?.type;
}

function matchTemplate(template: string, path: string): { decoded: Record<string, string>; undecodable: string | undefined } | undefined {
  const expected = template.split('/');
  const actual = path.split('/');
  if (expected.length !== actual.length) return undefined;
  const decoded: Record<string, string> = {};
  let undecodable: string | undefined;
  for (let index = 0; index < expected.length; index += 1) {
    const segment = actual[index];
    const variable = /^\{(.+)\}$/.exec(expected[index])?.[1];
    if (variable === undefined) {
      if (segment !== expected[index]) return undefined;
      continue;
    }
    if (segment.length === 0) return undefined;
    try {
      decoded[variable] = decodeURIComponent(segment);
    } catch {
      undecodable = variable;
    }
  }
  return { decoded, undecodable };
}

function escapePointer(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

function lowerCased(headers: Readonly<Record<string, string>>): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) result[name.toLowerCase()] = value;
  return result;
}

function formatErrors(errors: readonly ErrorObject[]): string[] {
  return errors.slice(0, 6).map((error) => `${error.instancePath || '(root)'} ${error.message ?? 'is invalid'}${paramsOf(error)}`);
}

function paramsOf(error: ErrorObject): string {
  const params = error.params as Record<string, unknown>;
  if ('additionalProperty' in params) return ` (${String(params.additionalProperty)})`;
  if ('unevaluatedProperty' in params) return ` (${String(params.unevaluatedProperty)})`;
  if ('allowedValue' in params) return ` (${JSON.stringify(params.allowedValue)})`;
  return '';
}

/** The scenario transport, with every call and reply checked against docs/openapi.yaml. */
export function withContractCheck(transport: ApiTransport): ApiTransport {
  return async (call: ApiCall): Promise<ApiReply> => {
    const reply = await transport(call);
    assertConformsToContract({ method: call.method, path: call.path, body: bodyBytes(call) }, reply);
    return reply;
  };
}
