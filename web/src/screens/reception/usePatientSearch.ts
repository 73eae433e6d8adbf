import { useCallback, useState } from 'react';
import { searchPatients } from '../../api/endpoints.ts';
import type { PatientView } from '../../api/types.ts';
import { useDebounced } from '../../hooks/useDebounced.ts';
import { useLoader } from '../../hooks/useLoader.ts';

/** How long the desk pauses typing before the search runs: a name typed at speed is one search, not five. */
const TYPING_PAUSE_MS = 250;

export type SearchAnswer = { query: string; patients: PatientView[]; total: number };

export type PatientSearchState = {
  /** What the search box holds. */
  text: string;
  setText: (text: string) => void;
  /** Searches what the box holds now, without waiting for the pause (Enter); again after a failure. */
  searchNow: () => void;
  /**
   * The registry's answer to what the box holds now, and only to that: an answer to what was
   * typed before (a search still on its way) is never offered, so Enter cannot choose a patient
   * found for other letters.
   */
  answer: SearchAnswer | undefined;
  /** Something is typed and its answer has not arrived. */
  searching: boolean;
  /** The failure of the search for what the box holds. */
  error: unknown;
  clear: () => void;
};

/** The desk's patient search: runs as the desk types (after a pause) and at once on Enter. */
export function usePatientSearch(): PatientSearchState {
  const [text, setTypedText] = useState('');
  // What was sent: the text trimmed, set after the pause or on Enter.
  const [query, setQuery] = useState('');
  const results = useLoader(
    async (signal): Promise<SearchAnswer | undefined> => {
      if (query === '') return undefined;
      const page = await searchPatients(query, signal);
      return { query, patients: page.items, total: page.total };
    },
    [query],
  );
  const askAfterPause = useDebounced(() => setQuery(text.trim()), TYPING_PAUSE_MS);
  const current = text.trim();
  const answer = results.data?.query === current && current !== '' ? results.data : undefined;
  const error = query === current && !results.loading ? results.error : undefined;

  const setText = useCallback(
    (next: string) => {
      setTypedText(next);
      askAfterPause();
    },
    [askAfterPause],
  );
  const { reload } = results;
  const searchNow = useCallback(() => {
    if (current !== query) setQuery(current);
    else if (error) reload();
  }, [current, query, error, reload]);
  const clear = useCallback(() => {
    setTypedText('');
    setQuery('');
  }, []);

  return { text, setText, searchNow, answer, searching: current !== '' && !answer && !error, error, clear };
}
