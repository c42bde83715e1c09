/**
 * `<UploadDropzone>`: a file picker that also takes drops. Built on a real `<input type="file">`
 * with a label, so the keyboard (Tab, then Enter or Space), screen readers and form autofill work
 * as they do for any file input; drops go through the same path. A polite live region tells
 * screen-reader users what happens to their uploads.
 */
import { type CSSProperties, type DragEvent, type ReactNode, useEffect, useId, useRef, useState } from 'react';
import { changes, describeAnnouncement, type Told, type UploadAnnouncement } from './announcements.js';
import type { UseUploadResult } from './use-upload.js';

export interface DropzoneRenderState {
  /** Files are being dragged over the zone now. */
  isDragging: boolean;
  /** The input has keyboard focus: show a focus ring on the zone (`is-focused` / `data-focused` too). */
  isFocused: boolean;
  disabled: boolean;
  /** Opens the file picker, for a custom button. */
  open(): void;
}

export interface UploadDropzoneProps {
  /** `useUpload()`'s result: picked and dropped files are uploaded, and its items announced. */
  uploads?: Pick<UseUploadResult, 'upload' | 'items'>;
  /** Called with the accepted files of each pick or drop (as well as `uploads.upload`, if given). */
  onFiles?: (files: File[]) => void;
  /** Like the input's `accept`: `image/*,video/mp4,.pdf`. Dropped files that do not match are refused and announced. */
  accept?: string;
  /** Default true. When false, a drop of several files keeps the first. */
  multiple?: boolean;
  disabled?: boolean;
  /** The accessible name of the picker. Default "Choose files to upload". */
  label?: string;
  /** A hint read after the name (`aria-describedby`), e.g. what may be uploaded. */
  hint?: ReactNode;
  /** The sentence spoken for an event; return undefined to stay silent. Default: `describeAnnouncement`. */
  announce?: (event: UploadAnnouncement) => string | undefined;
  /** The zone's content: nodes, or a function of its state. Default: an icon-free prompt. */
  children?: ReactNode | ((state: DropzoneRenderState) => ReactNode);
  id?: string;
  /** The input's id (for a `<label htmlFor>` elsewhere, or tests). */
  inputId?: string;
  /** The input's `name`, so the zone also works inside a plain form. */
  name?: string;
  className?: string;
}

/** Hidden from sight, not from screen readers or focus; inline, so it works without a stylesheet. */
const VISUALLY_HIDDEN: CSSProperties = {
  position: 'absolute',
  width: 1,
  height: 1,
  margin: -1,
  padding: 0,
  border: 0,
  overflow: 'hidden',
  clip: 'rect(0 0 0 0)',
  whiteSpace: 'nowrap',
};

/** How many past announcements stay in the live region (older ones are dropped). */
const KEPT = 5;

/**
 * `accept` as the browser reads it: extensions, `type/*` and exact types, comma-separated.
 * @example matchesAccept(file, 'image/*,.pdf') // true for a PNG or a PDF
 */
export function matchesAccept(file: File, accept: string | undefined): boolean {
  if (!accept?.trim()) return true;
  const name = file.name.toLowerCase();
  const type = file.type.toLowerCase();
  return accept.split(',').some((raw) => {
    const token = raw.trim().toLowerCase();
    if (token.startsWith('.')) return name.endsWith(token);
    if (token.endsWith('/*')) return type.startsWith(token.slice(0, -1));
    return token !== '' && type === token;
  });
}

/**
 * @example
 * function Uploads() {
 *   const uploads = useUpload({ endpoint: '/api/upload' });
 *   return (
 *     <UploadDropzone uploads={uploads} accept="image/*,video/*" hint="Images and videos, up to 200 MiB.">
 *       {({ isDragging }) => (isDragging ? 'Drop to upload' : 'Drop files here, or choose files')}
 *     </UploadDropzone>
 *   );
 * }
 */
export function UploadDropzone(props: UploadDropzoneProps): ReactNode {
  const { uploads, onFiles, accept, multiple = true, disabled = false, hint, children } = props;
  const ids = useId();
  const inputId = props.inputId ?? `${ids}-input`;
  const hintId = `${ids}-hint`;
  const input = useRef<HTMLInputElement>(null);
  const [isDragging, setDragging] = useState(false);
  const [isFocused, setFocused] = useState(false);
  const depth = useRef(0);
  const [messages, setMessages] = useState<{ key: number; text: string }[]>([]);
  const told = useRef(new Map<string, Told>());
  const sequence = useRef(0);
  const announceRef = useRef(props.announce);
  announceRef.current = props.announce;

  const say = (events: UploadAnnouncement[]) => {
    const texts = events.map((event) => (announceRef.current ?? describeAnnouncement)(event)).filter((text): text is string => !!text);
    if (texts.length === 0) return;
    setMessages((previous) => [...previous, ...texts.map((text) => ({ key: ++sequence.current, text }))].slice(-KEPT));
  };

  const items = uploads?.items;
  // biome-ignore lint/correctness/useExhaustiveDependencies: `say` only reads refs and a state setter
  useEffect(() => {
    if (items) say(changes(told.current, items));
  }, [items]);

  const take = (list: FileList | null | undefined) => {
    if (disabled || !list) return;
    const all = Array.from(list);
    const accepted = all.filter((file) => matchesAccept(file, accept));
    const rejected = all.filter((file) => !accepted.includes(file));
    const files = multiple ? accepted : accepted.slice(0, 1);
    say([
      ...rejected.map((file): UploadAnnouncement => ({ kind: 'rejected', file, reason: `only ${accept} can be added here.` })),
      ...(multiple ? [] : accepted.slice(1)).map((file): UploadAnnouncement => ({ kind: 'rejected', file, reason: 'one file at a time.' })),
    ]);
    if (files.length === 0) return;
    onFiles?.(files);
    uploads?.upload(files);
  };

  const onDrag = (event: DragEvent<HTMLDivElement>) => {
    event.preventDefault();
    if (event.type === 'dragenter') depth.current += 1;
    if (event.type === 'dragleave') depth.current = Math.max(0, depth.current - 1);
    if (event.dataTransfer) event.dataTransfer.dropEffect = disabled ? 'none' : 'copy';
    setDragging(!disabled && depth.current > 0);
  };
  const onDrop = (event: DragEvent<HTMLDivElement>) => {
    event.preventDefault();
    depth.current = 0;
    setDragging(false);
    take(event.dataTransfer?.files);
  };

  const state: DropzoneRenderState = { isDragging, isFocused, disabled, open: () => input.current?.click() };
  const content =
    typeof children === 'function'
      ? children(state)
      : (children ?? (
          <span className="dropgate-dropzone-prompt">{isDragging ? 'Drop to upload' : 'Drop files here, or choose files'}</span>
        ));
  const className = [
    'dropgate-dropzone',
    props.className,
    isDragging && 'is-dragging',
    isFocused && 'is-focused',
    disabled && 'is-disabled',
  ]
    .filter(Boolean)
    .join(' ');

  return (
    // A drop target only: the input inside is what the keyboard and screen readers operate.
    // biome-ignore lint/a11y/noStaticElementInteractions: drag events have no keyboard equivalent; the input is the accessible control
    <div
      id={props.id}
      className={className}
      data-dragging={isDragging ? '' : undefined}
      data-focused={isFocused ? '' : undefined}
      data-disabled={disabled ? '' : undefined}
      onDragEnter={onDrag}
      onDragOver={onDrag}
      onDragLeave={onDrag}
      onDrop={onDrop}
    >
      <input
        ref={input}
        id={inputId}
        style={VISUALLY_HIDDEN}
        type="file"
        name={props.name}
        accept={accept}
        multiple={multiple}
        disabled={disabled}
        aria-describedby={hint === undefined ? undefined : hintId}
        onFocus={(event) => setFocused(event.currentTarget.matches(':focus-visible'))}
        onBlur={() => setFocused(false)}
        onChange={(event) => {
          take(event.currentTarget.files);
          // The same file can be picked again after a cancel or an error.
          event.currentTarget.value = '';
        }}
      />
      <label className="dropgate-dropzone-label" htmlFor={inputId}>
        <span style={VISUALLY_HIDDEN}>{props.label ?? 'Choose files to upload'}</span>
        <span className="dropgate-dropzone-content" aria-hidden="true">
          {content}
        </span>
      </label>
      {hint === undefined ? null : (
        <p className="dropgate-dropzone-hint" id={hintId}>
          {hint}
        </p>
      )}
      <div style={VISUALLY_HIDDEN} role="status" aria-live="polite" aria-atomic="false">
        {messages.map((message) => (
          <p key={message.key}>{message.text}</p>
        ))}
      </div>
    </div>
  );
}
