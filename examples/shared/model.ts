/**
 * Stand-in for your LLM call, so the examples run as they are. Replace `generate` with your model
 * client; keep the shape: the tokens the call really used, to settle the reservation with.
 */
export const MAX_OUTPUT_TOKENS = 256;

/** A rough count (about 4 characters per token); use your model's tokenizer in production. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

export async function generate(prompt: string): Promise<{ text: string; usedTokens: number }> {
  const text = `echo: ${prompt}`;
  return { text, usedTokens: estimateTokens(prompt) + estimateTokens(text) };
}
