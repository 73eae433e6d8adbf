import { useEffect } from 'react';

/**
 * The document of a waiting room's page: Korean first (`<html lang="ko">`, the English parts
 * marked as such), whatever language the console was last set to in this browser, and its own title.
 */
export function useWaitingRoomDocument(title: string): void {
  useEffect(() => {
    document.documentElement.lang = 'ko';
    document.title = title;
  }, [title]);
}
