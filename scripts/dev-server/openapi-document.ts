/**
 * `GET /v1/openapi.json` on the local server: the API's contract, docs/openapi.yaml, as JSON, so
 * tools (code generators, API clients, validators) can load it from the running server.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { jsonResponse, type ApiResponse } from '../../lambda/shared/http';

export const OPENAPI_ROUTE = Object.freeze({ method: 'GET', path: '/v1/openapi.json' } as const);
export const OPENAPI_YAML_PATH = join(__dirname, '..', '..', 'docs', 'openapi.yaml');

let document: Promise<unknown> | undefined;

/** The document, read and converted once; a failed read is retried on the next request. */
function loadDocument(): Promise<unknown> {
  document ??= readFile(OPENAPI_YAML_PATH, 'utf8').then((text) => parseYaml(text) as unknown);
  document.catch(() => (document = undefined));
  return document;
}

export async function openApiResponse(): Promise<ApiResponse> {
  return jsonResponse(200, await loadDocument());
}
