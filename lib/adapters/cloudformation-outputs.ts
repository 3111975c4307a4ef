/**
 * A deployed stack's outputs (the CLI's `--stack NAME`: the API URL from `ApiUrl`), read with
 * CloudFormation DescribeStacks and the caller's AWS credentials. The SDK honours
 * AWS_ENDPOINT_URL_CLOUDFORMATION, which is how the tests point it at a local stand-in.
 */
export interface StackOutputs {
  outputs: Record<string, string>;
  /** The region the stack was read in (the admin API's region). */
  region: string;
}

/** Rejects with the SDK's own error (`ValidationError` for a stack that does not exist, `CredentialsProviderError`…). */
export async function readStackOutputs(stackName: string, options: { region?: string } = {}): Promise<StackOutputs> {
  const { CloudFormationClient, DescribeStacksCommand } = await import('@aws-sdk/client-cloudformation');
  const client = new CloudFormationClient(options.region ? { region: options.region } : {});
  try {
    const { Stacks } = await client.send(new DescribeStacksCommand({ StackName: stackName }));
    const outputs: Record<string, string> = {};
    for (const output of Stacks?.[0]?.Outputs ?? []) {
      if (output.OutputKey && output.OutputValue !== undefined) outputs[output.OutputKey] = output.OutputValue;
    }
    return { outputs, region: await client.config.region() };
  } finally {
    client.destroy();
  }
}
