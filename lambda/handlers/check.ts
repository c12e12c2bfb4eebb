// Placeholder: replaced by the real handler (issue 4). Kept so the CDK app can bundle an entry.
export const handler = async (): Promise<{ statusCode: number; body: string }> => ({
  statusCode: 501,
  body: JSON.stringify({ title: 'not implemented yet' }),
});
