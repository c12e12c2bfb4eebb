import type { RedisReply } from './redis-reply';

/** `base64` when the request carried `Upstash-Encoding: base64`, else `plain`. */
export type ResponseEncoding = 'base64' | 'plain';

const OK = Buffer.from('OK');

function encodeString(bytes: Buffer, encoding: ResponseEncoding): string {
  // Plain mode: invalid UTF-8 becomes U+FFFD, as the real service does.
  return JSON.stringify(encoding === 'base64' ? bytes.toString('base64') : bytes.toString('utf8'));
}

function encodeNested(reply: RedisReply, encoding: ResponseEncoding): string {
  if (reply === null) return 'null';
  // Integer replies arrive as their exact digits; emitting them unquoted keeps
  // values above 2^53 exact on the wire (the client's JSON.parse may still
  // round them, as it does against Upstash).
  if (typeof reply === 'string') return reply;
  if (Buffer.isBuffer(reply)) return encodeString(reply, encoding);
  if (reply instanceof Error) {
    // Upstash's representation of an error nested in an array is unverified;
    // the message as an ordinary string is the least surprising choice.
    return encodeString(Buffer.from(reply.message, 'utf8'), encoding);
  }
  return `[${reply.map((item) => encodeNested(item, encoding)).join(',')}]`;
}

/**
 * Renders a whole result (of a single command, or of one pipeline or
 * transaction entry) as JSON text, following protocol reference §6.1: every
 * string at every depth is base64 in base64 mode, integers stay JSON numbers,
 * nil becomes null.
 *
 * The one exception is a top-level `OK`, sent raw as Upstash documents. The
 * client keeps a raw `"OK"` and would decode the base64 form to the same
 * text, so applying the exception to a bulk string that happens to read `OK`
 * (ioredis cannot tell it from a status reply) changes nothing for callers.
 * Nested `OK`s must be encoded: the client base64-decodes array elements
 * without an exception, and a raw "OK" there would turn into garbage.
 */
export function encodeResult(reply: RedisReply, encoding: ResponseEncoding): string {
  if (Buffer.isBuffer(reply) && reply.equals(OK)) return '"OK"';
  return encodeNested(reply, encoding);
}
