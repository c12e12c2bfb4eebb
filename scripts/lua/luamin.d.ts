// luamin ships no types; this is the one function the generator calls.
declare module 'luamin' {
  /** Lua 5.1 source with whitespace and comments removed and local names shortened. */
  export function minify(source: string): string;
}
