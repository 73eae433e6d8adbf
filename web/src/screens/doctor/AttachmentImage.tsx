import { useEffect, useState } from 'react';
import { downloadAttachment } from '../../api/endpoints.ts';
import type { AttachmentView } from '../../api/types.ts';

/** An image attachment shown inline: fetched with the token, shown from an object URL released on unmount. */
export function AttachmentImage({ examinationId, attachment, alt }: { examinationId: number; attachment: AttachmentView; alt: string }) {
  const [url, setUrl] = useState<string>();
  useEffect(() => {
    const controller = new AbortController();
    let objectUrl: string | undefined;
    downloadAttachment(examinationId, attachment.name, controller.signal).then(
      (blob) => {
        objectUrl = URL.createObjectURL(blob);
        setUrl(objectUrl);
      },
      () => {},
    );
    return () => {
      controller.abort();
      if (objectUrl) URL.revokeObjectURL(objectUrl);
    };
  }, [examinationId, attachment.name]);
  if (!url) return null;
  return <img className="attachment-image" src={url} alt={alt} />;
}
