import { useEffect, useState } from 'react';
import QRCode from 'qrcode';

/**
 * A QR code of `text` as an SVG data: URL, for an <img> (the console's CSP allows data: images, and
 * no markup is injected): sharp at any size, which a receipt printer's 203 dpi needs. Undefined
 * until it is drawn (a moment), or if it cannot be.
 */
export function useQrCode(text: string): string | undefined {
  const [drawn, setDrawn] = useState<{ text: string; url: string }>();
  useEffect(() => {
    let current = true;
    // Medium error correction: a ticket crumpled in a pocket still scans.
    QRCode.toString(text, { type: 'svg', errorCorrectionLevel: 'M', margin: 1 }).then(
      (svg) => {
        if (current) setDrawn({ text, url: `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}` });
      },
      () => undefined, // a text too long for a QR code: the ticket shows the link in words only
    );
    return () => {
      current = false;
    };
  }, [text]);
  return drawn?.text === text ? drawn.url : undefined;
}
