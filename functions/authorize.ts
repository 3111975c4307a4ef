// Placeholder entry so the CDK stack can reference it; replaced by the real handler.
export const handler = async (): Promise<never> => {
  throw new Error('not implemented yet');
};
