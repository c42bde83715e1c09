// The seed document's Next.js App Router route (Remotion, "Upload with a presigned URL",
// app/api/upload/route.ts), as written there, with one adaptation: `getAwsClient()` from
// `@remotion/lambda/client` is replaced by the S3 client the seed says to use without Remotion
// Lambda (`@aws-sdk/client-s3`), pointed at Ceph RGW through S3_ENDPOINT and cached per region as
// Remotion's getAwsClient caches its clients. No auth, no quota, no rate limit: as in the seed.
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { NextResponse } from 'next/server';

type AwsRegion = string;

const clients = new Map<string, S3Client>();
const getAwsClient = ({ region }: { region: AwsRegion; service: 's3' }) => {
  let client = clients.get(region);
  if (!client) {
    client = new S3Client({ region, endpoint: process.env.S3_ENDPOINT, forcePathStyle: true });
    clients.set(region, client);
  }
  return { client, sdk: { PutObjectCommand } };
};

const generatePresignedUrl = async ({
  contentType,
  contentLength,
  expiresIn,
  bucketName,
  region,
}: {
  contentType: string;
  contentLength: number;
  expiresIn: number;
  bucketName: string;
  region: AwsRegion;
}): Promise<{ presignedUrl: string; readUrl: string }> => {
  if (contentLength > 1024 * 1024 * 200) {
    throw new Error(`File may not be over 200MB. Yours is ${contentLength} bytes.`);
  }

  const { client, sdk } = getAwsClient({
    region: process.env.REMOTION_AWS_REGION as AwsRegion,
    service: 's3',
  });

  const key = crypto.randomUUID();

  const command = new sdk.PutObjectCommand({
    Bucket: bucketName,
    Key: key,
    ACL: 'public-read',
    ContentLength: contentLength,
    ContentType: contentType,
  });

  const presignedUrl = await getSignedUrl(client, command, {
    expiresIn,
  });

  // The location of the asset after the upload
  const readUrl = `https://${bucketName}.s3.${region}.amazonaws.com/${key}`;

  return { presignedUrl, readUrl };
};

export const POST = async (request: Request) => {
  if (!process.env.REMOTION_AWS_BUCKET_NAME) {
    throw new Error('REMOTION_AWS_BUCKET_NAME is not set');
  }

  if (!process.env.REMOTION_AWS_REGION) {
    throw new Error('REMOTION_AWS_REGION is not set');
  }

  const json = await request.json();
  if (!Number.isFinite(json.size)) {
    throw new Error('size is not a number');
  }
  if (typeof json.contentType !== 'string') {
    throw new Error('contentType is not a string');
  }

  const { presignedUrl, readUrl } = await generatePresignedUrl({
    contentType: json.contentType,
    contentLength: json.size,
    expiresIn: 60 * 60 * 24 * 7,
    bucketName: process.env.REMOTION_AWS_BUCKET_NAME as string,
    region: process.env.REMOTION_AWS_REGION as AwsRegion,
  });

  return NextResponse.json({ presignedUrl, readUrl });
};
