/**
 * Attachments are fetched with the bearer token (a plain link could not send it), so the bytes
 * reach the page as a Blob and are handed to the browser through a short-lived object URL.
 */
const URL_LIFETIME_MS = 60_000;

function temporaryUrl(blob: Blob): string {
  const url = URL.createObjectURL(blob);
  setTimeout(() => URL.revokeObjectURL(url), URL_LIFETIME_MS);
  return url;
}

/** Opens the file in a new tab with the browser's own viewer (PDF, image). */
export function openBlob(blob: Blob): void {
  window.open(temporaryUrl(blob), '_blank', 'noopener');
}

/** Saves the file under the name it was uploaded with. */
export function saveBlob(blob: Blob, filename: string): void {
  const link = document.createElement('a');
  link.href = temporaryUrl(blob);
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
}
