/**
 * `dropgate/react`: a hook and a drop zone over `dropgate/client`. React (18 or later) is an
 * optional peer dependency: only this entry imports it.
 */
export { changes, describeAnnouncement, type UploadAnnouncement } from './announcements.js';
export { type DropzoneRenderState, matchesAccept, UploadDropzone, type UploadDropzoneProps } from './upload-dropzone.js';
export {
  createUploadStore,
  toDropgateError,
  type UploadActions,
  type UploadItem,
  type UploadStore,
  type UseUploadOptions,
} from './upload-store.js';
export { type UseUploadResult, useUpload } from './use-upload.js';
