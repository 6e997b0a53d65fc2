// The AWS SDK settings a test uses for its own reads and writes: the endpoint of the simulator (or
// moto) that the environment of the steps points at, and the simulator's test key.
export const TEST_CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' }

export function awsConfig(env: { AWS_ENDPOINT_URL?: string; AWS_REGION?: string }, region = env.AWS_REGION ?? 'ap-northeast-1') {
  return { region, endpoint: env.AWS_ENDPOINT_URL, credentials: TEST_CREDENTIALS }
}
