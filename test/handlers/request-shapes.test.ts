/**
 * The hand-written request shapes and event checks (lambda/shared/schemas.ts, request.ts): every
 * problem is reported, in field order then unknown fields, each naming its field with what was
 * expected and what came.
 */
import { BadRequestError, jsonBody, parseEvent, queryParameters, type ApiRequest } from '../../lambda/shared/request';
import { CheckBody, ResetBody, SettleBody, StatusQuery } from '../../lambda/shared/schemas';

const bodyRequest = (body: string): ApiRequest => ({
  method: 'POST',
  resource: '/v1/check',
  path: '/v1/check',
  pathParameters: {},
  query: {},
  body,
  isBase64Encoded: false,
  requestId: undefined,
  caller: undefined,
});

function errorsOf(run: () => unknown): BadRequestError['errors'] {
  try {
    run();
  } catch (error) {
    if (error instanceof BadRequestError) return error.errors;
    throw error;
  }
  throw new Error('expected a BadRequestError');
}

describe('body shapes', () => {
  it('read exactly the named fields, keeping optional ones absent', () => {
    expect(jsonBody(bodyRequest('{"creatorId":7,"tier":"pro"}'), CheckBody)).toEqual({ creatorId: 7, tier: 'pro' });
    expect(jsonBody(bodyRequest('{"creatorId":"a","tier":"pro","tokens":0,"requestId":"r"}'), CheckBody)).toEqual({
      creatorId: 'a',
      tier: 'pro',
      tokens: 0,
      requestId: 'r',
    });
    expect(jsonBody(bodyRequest('{"creatorId":"a"}'), ResetBody)).toEqual({ creatorId: 'a' });
  });

  it('report every problem: missing and mistyped fields in field order, then unknown fields', () => {
    const errors = errorsOf(() => jsonBody(bodyRequest('{"zzz":1,"tokens":"10","creatorId":true,"requestID":"r"}'), SettleBody));
    expect(errors).toEqual([
      { field: 'creatorId', detail: 'must be a string or an integer, got boolean' },
      { field: 'tier', detail: 'is required' },
      { field: 'requestId', detail: 'is required' },
      { field: 'tokens', detail: 'must be a number, got a string' },
      { field: 'zzz', detail: 'is not a known field' },
      { field: 'requestID', detail: 'is not a known field' },
    ]);
  });

  it('treat null as a wrong type, not as absent', () => {
    expect(errorsOf(() => jsonBody(bodyRequest('{"creatorId":"a","tier":null}'), CheckBody))).toEqual([
      { field: 'tier', detail: 'must be a string (a tier name), got null' },
    ]);
  });

  it('refuse keys named like Object.prototype members as unknown fields', () => {
    for (const key of ['__proto__', 'constructor', 'hasOwnProperty']) {
      const errors = errorsOf(() => jsonBody(bodyRequest(`{"creatorId":"a","tier":"pro","${key}":{}}`), CheckBody));
      expect(errors).toEqual([{ field: key, detail: 'is not a known field' }]);
    }
  });

  it('the query shape ignores parameters it does not name (the route table refuses them first)', () => {
    const request = { ...bodyRequest(''), query: { tier: ['business'], other: ['x'] } };
    expect(queryParameters(request, StatusQuery)).toEqual({ tier: 'business' });
  });
});

describe('event checks', () => {
  it('name every malformed field of the event, nested ones with their path', () => {
    const errors = errorsOf(() =>
      parseEvent({
        path: 5,
        headers: { accept: 'x', 'x-count': 3 },
        multiValueQueryStringParameters: { tier: 'pro' },
        pathParameters: [],
        isBase64Encoded: 'yes',
        requestContext: { requestId: 12 },
      }),
    );
    expect(errors).toEqual([
      { field: 'httpMethod', detail: 'is required' },
      { field: 'path', detail: 'must be a string, got a number' },
      { field: 'headers.x-count', detail: 'must be a string, got a number' },
      { field: 'multiValueQueryStringParameters.tier', detail: 'must be an array of strings, got a string' },
      { field: 'pathParameters', detail: 'must be an object, got an array' },
      { field: 'isBase64Encoded', detail: 'must be a boolean, got a string' },
      { field: 'requestContext.requestId', detail: 'must be a string, got a number' },
    ]);
  });

  it('accept null and absent maps and values as API Gateway sends them', () => {
    const request = parseEvent({
      httpMethod: 'GET',
      resource: '/v1/status/{creatorId}',
      path: null,
      headers: null,
      queryStringParameters: { tier: 'pro', gone: null },
      multiValueQueryStringParameters: null,
      pathParameters: { creatorId: 'a' },
      body: null,
      requestContext: null,
    });
    expect(request).toMatchObject({
      method: 'GET',
      path: '/v1/status/{creatorId}',
      body: null,
      isBase64Encoded: false,
      requestId: undefined,
    });
    expect({ ...request.query }).toEqual({ tier: ['pro'] });
    expect({ ...request.pathParameters }).toEqual({ creatorId: 'a' });
  });
});
