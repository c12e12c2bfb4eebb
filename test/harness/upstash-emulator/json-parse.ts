/**
 * A JSON number kept as the literal text the caller sent.
 *
 * `JSON.parse` turns `101600000000150081467` into `101600000000150080000`;
 * Redis receives arguments as text anyway, so keeping the literal lets
 * non-JS callers (curl, other SDKs) pass big integers through unchanged.
 */
export class JsonNumber {
  constructor(readonly literal: string) {}
}

export type JsonValue = string | boolean | null | JsonNumber | JsonValue[] | { [key: string]: JsonValue };

export class JsonSyntaxError extends Error {}

const NUMBER_PATTERN = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const WHITESPACE = /[ \t\n\r]*/y;
// JSON strings may not hold raw control characters (U+0000 to U+001F), so the pattern names them.
// eslint-disable-next-line no-control-regex
const SIMPLE_STRING_CHARS = /[^"\\\u0000-\u001f]*/y;
const ESCAPES: Record<string, string> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
};
// Request bodies are a command array or an array of command arrays; anything
// nested deeper than this is garbage, and the cap keeps recursion bounded.
const MAX_DEPTH = 64;

/** Strict RFC 8259 parser that differs from `JSON.parse` only in returning numbers as {@link JsonNumber}. */
export function parseJson(text: string): JsonValue {
  let pos = 0;

  // A declaration (not an arrow const) so TypeScript treats calls as exits.
  function fail(what: string): never {
    throw new JsonSyntaxError(`${what} at position ${pos}`);
  }
  const skipWhitespace = (): void => {
    WHITESPACE.lastIndex = pos;
    WHITESPACE.exec(text);
    pos = WHITESPACE.lastIndex;
  };
  const expectLiteral = (literal: string): void => {
    if (!text.startsWith(literal, pos)) fail(`expected ${literal}`);
    pos += literal.length;
  };

  const parseString = (): string => {
    pos++; // opening quote
    let out = '';
    for (;;) {
      SIMPLE_STRING_CHARS.lastIndex = pos;
      SIMPLE_STRING_CHARS.exec(text);
      out += text.slice(pos, SIMPLE_STRING_CHARS.lastIndex);
      pos = SIMPLE_STRING_CHARS.lastIndex;
      const ch = text[pos];
      if (ch === '"') {
        pos++;
        return out;
      }
      if (ch !== '\\') fail(ch === undefined ? 'unterminated string' : 'control character in string');
      const esc = text[pos + 1] ?? '';
      if (esc === 'u') {
        const hex = text.slice(pos + 2, pos + 6);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail('invalid \\u escape');
        out += String.fromCharCode(parseInt(hex, 16));
        pos += 6;
      } else {
        const decoded = ESCAPES[esc];
        if (decoded === undefined) fail('invalid escape');
        out += decoded;
        pos += 2;
      }
    }
  };

  const parseValue = (depth: number): JsonValue => {
    if (depth > MAX_DEPTH) fail('nesting too deep');
    skipWhitespace();
    const ch = text[pos];
    switch (ch) {
      case '"':
        return parseString();
      case '[': {
        pos++;
        const items: JsonValue[] = [];
        skipWhitespace();
        if (text[pos] === ']') {
          pos++;
          return items;
        }
        for (;;) {
          items.push(parseValue(depth + 1));
          skipWhitespace();
          if (text[pos] === ',') pos++;
          else if (text[pos] === ']') {
            pos++;
            return items;
          } else fail('expected , or ]');
        }
      }
      case '{': {
        pos++;
        const obj: { [key: string]: JsonValue } = {};
        skipWhitespace();
        if (text[pos] === '}') {
          pos++;
          return obj;
        }
        for (;;) {
          skipWhitespace();
          if (text[pos] !== '"') fail('expected object key');
          const key = parseString();
          skipWhitespace();
          expectLiteral(':');
          obj[key] = parseValue(depth + 1);
          skipWhitespace();
          if (text[pos] === ',') pos++;
          else if (text[pos] === '}') {
            pos++;
            return obj;
          } else fail('expected , or }');
        }
      }
      case 't':
        expectLiteral('true');
        return true;
      case 'f':
        expectLiteral('false');
        return false;
      case 'n':
        expectLiteral('null');
        return null;
      default: {
        NUMBER_PATTERN.lastIndex = pos;
        const match = NUMBER_PATTERN.exec(text);
        if (match === null) return fail(ch === undefined ? 'unexpected end of input' : 'unexpected character');
        pos = NUMBER_PATTERN.lastIndex;
        return new JsonNumber(match[0]);
      }
    }
  };

  const value = parseValue(0);
  skipWhitespace();
  if (pos !== text.length) fail('unexpected trailing data');
  return value;
}
