import { attachmentContentTypes, attachmentExtensions, type AttachmentContentType } from '@medical/contracts';

/**
 * The pure rules of attachments: which types are accepted, whether bytes are what they claim to
 * be, which uploaded file names are acceptable, and the download's Content-Disposition.
 */

export function isAcceptedType(contentType: string): contentType is AttachmentContentType {
  return (attachmentContentTypes as readonly string[]).includes(contentType);
}

/** The declared type of a part, without parameters, lower-cased ("Image/PNG; x=y" → "image/png"). */
export function mediaType(declared: string | undefined): string {
  return (declared ?? '').split(';')[0]!.trim().toLowerCase();
}

/** How many leading bytes `matchesSignature` needs. */
export const SIGNATURE_BYTES = 8;

const signatures: Record<AttachmentContentType, Buffer> = {
  // "%PDF-": every PDF starts with its header (ISO 32000-1 §7.5.2).
  'application/pdf': Buffer.from('%PDF-', 'latin1'),
  // The PNG signature (RFC 2083 §3.1).
  'image/png': Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  // SOI followed by the first marker's 0xFF (JFIF, Exif and raw JPEG alike).
  'image/jpeg': Buffer.from([0xff, 0xd8, 0xff]),
};

/**
 * Whether the file's first bytes are the signature of the type it was declared as: a hospital
 * must not store, nor later serve, an HTML page or a script as a "PDF".
 */
export function matchesSignature(contentType: AttachmentContentType, head: Buffer): boolean {
  const signature = signatures[contentType];
  return head.length >= signature.length && head.subarray(0, signature.length).equals(signature);
}

/** Percent-decoding, repeated while it changes anything (a few times at most): "%252e" → "%2e" → ".". */
function decodings(name: string): string[] {
  const seen = [name];
  let current = name;
  for (let i = 0; i < 3; i++) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(current);
    } catch {
      break;
    }
    if (decoded === current) break;
    seen.push(decoded);
    current = decoded;
  }
  return seen;
}

/**
 * Why an uploaded file name is refused, or undefined if it is a plain file name. The name is
 * only kept as metadata (the stored file gets a name of the server's), but a name that tries to
 * leave a folder is an attack or a broken client, refused rather than cleaned up: a path
 * (/ or \), a drive or stream (:), "." or "..", NUL or any control character, in any of its
 * percent-decodings.
 */
export function fileNameProblem(filename: string | undefined): string | undefined {
  if (filename === undefined || filename.trim() === '') return 'the file part needs a file name (filename in its Content-Disposition)';
  if (Buffer.byteLength(filename, 'utf8') > 255) return 'the file name must be at most 255 bytes';
  for (const candidate of decodings(filename)) {
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(candidate)) return 'the file name must not contain NUL or other control characters';
    if (/[/\\]/.test(candidate)) return 'the file name must be a plain name, not a path (no / or \\)';
    if (candidate.includes(':')) return 'the file name must not contain ":" (a drive or a stream name)';
    if (/^[.\s]*$/.test(candidate)) return 'the file name must not be "." or ".."';
  }
  return undefined;
}

/**
 * `attachment` with the uploaded file name, made safe: the ASCII fallback keeps letters, digits,
 * dot, dash, underscore and space; `filename*` (RFC 6266, RFC 8187) carries the name as it was
 * (a Korean name, say). The name always ends with its type's extension, so a file saved from
 * the browser opens as what it is, whatever it was uploaded as ("report.html" → "report.html.pdf").
 */
export function contentDisposition(filename: string, contentType: AttachmentContentType): string {
  const extension = `.${attachmentExtensions[contentType]}`;
  const alternatives = contentType === 'image/jpeg' ? ['.jpg', '.jpeg'] : [extension];
  const named = alternatives.some((ext) => filename.toLowerCase().endsWith(ext)) ? filename : `${filename}${extension}`;
  const ascii = named.normalize('NFKD').replace(/[^A-Za-z0-9._ -]/g, '_').replace(/^[. ]+/, '_');
  const encoded = encodeURIComponent(named).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}
