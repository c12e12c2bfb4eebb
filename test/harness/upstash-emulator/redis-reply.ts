/**
 * A RESP2 reply as the emulator's ioredis connections deliver it
 * (`protocol: 2`, `stringNumbers: true`, `replyEncoding: null`):
 *
 * - `Buffer`: bulk string or status reply (ioredis decodes both to Buffer);
 * - `string`: an integer reply, as its exact decimal digits;
 * - `null`: nil bulk or nil array;
 * - `Error`: an error element nested inside an array (EXEC, Lua tables);
 * - arrays of the above.
 */
export type RedisReply = Buffer | string | null | Error | RedisReply[];
