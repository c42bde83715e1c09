import { toNextHandlers } from 'dropgate/next';
import { gateway } from '@/lib/dropgate';

export const { GET, HEAD, POST, PUT, DELETE, OPTIONS } = toNextHandlers(gateway);
