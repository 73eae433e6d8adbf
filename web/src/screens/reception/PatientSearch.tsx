import { useState, type FormEvent, type KeyboardEvent, type Ref } from 'react';
import { useTranslation } from 'react-i18next';
import { describeError } from '../../api/describeError.ts';
import type { PatientView } from '../../api/types.ts';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { limits } from '../../forms/limits.ts';
import { isChoosable, PatientFacts } from './PatientFacts.tsx';
import type { PatientSearchState, SearchAnswer } from './usePatientSearch.ts';

type PatientSearchProps = {
  search: PatientSearchState;
  inputRef: Ref<HTMLInputElement>;
  onChoose: (patient: PatientView) => void;
  onRegisterNew: () => void;
};

const optionId = (patient: PatientView) => `patient-option-${patient.patientId}`;

/**
 * The desk's first step: find the patient. One box (a combobox: the results are its listbox, the
 * focus stays in the box, the arrow keys move the highlight, Enter chooses the highlighted patient,
 * the first one unless moved). Enter before the answer to what is typed has arrived searches at
 * once instead, so Enter never chooses a patient found for other letters. Beside the box, registering
 * a new patient, the button made prominent when a search finds nobody.
 */
export function PatientSearch({ search, inputRef, onChoose, onRegisterNew }: PatientSearchProps) {
  const { t } = useTranslation();
  // The highlight belongs to the answer it was moved in: a new answer highlights its first patient.
  const [highlight, setHighlight] = useState<{ answer: SearchAnswer; index: number } | null>(null);
  const { answer } = search;
  const patients = answer?.patients ?? [];
  const active = highlight && highlight.answer === answer ? highlight.index : Math.max(0, patients.findIndex(isChoosable));
  const highlighted = patients[active];
  const nobody = answer !== undefined && patients.length === 0;

  function onKeyDown(event: KeyboardEvent<HTMLInputElement>) {
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      if (!answer || patients.length === 0) return;
      event.preventDefault(); // the caret stays where it is
      const next = (active + (event.key === 'ArrowDown' ? 1 : -1) + patients.length) % patients.length;
      setHighlight({ answer, index: next });
      document.getElementById(optionId(patients[next]!))?.scrollIntoView({ block: 'nearest' });
    } else if (event.key === 'Escape' && search.text !== '') {
      event.preventDefault();
      search.clear();
    }
  }

  function onSubmit(event: FormEvent) {
    event.preventDefault();
    if (highlighted && isChoosable(highlighted)) onChoose(highlighted);
    else search.searchNow();
  }

  return (
    <form className="patient-search" role="search" aria-label={t('reception.search.label')} onSubmit={onSubmit} noValidate>
      <div className="patient-search-row">
        <div className="field">
          <label htmlFor="patient-search">{t('reception.search.label')}</label>
          <p id="patient-search-hint" className="field-hint">
            {t('reception.search.hint')}
          </p>
          <input
            ref={inputRef}
            id="patient-search"
            name="patient-search"
            type="text"
            role="combobox"
            aria-autocomplete="list"
            aria-expanded={patients.length > 0}
            aria-controls={patients.length > 0 ? 'patient-search-results' : undefined}
            aria-activedescendant={highlighted ? optionId(highlighted) : undefined}
            aria-describedby="patient-search-hint patient-search-status"
            autoComplete="off"
            spellCheck={false}
            maxLength={limits.patientSearch}
            value={search.text}
            onChange={(event) => search.setText(event.target.value)}
            onKeyDown={onKeyDown}
          />
        </div>
        <button type="button" className={`button ${nobody ? 'primary' : 'secondary'}`} onClick={onRegisterNew}>
          {t('reception.newPatient.open')}
        </button>
      </div>
      <SearchStatus search={search} />
      {patients.length > 0 && (
        <ul id="patient-search-results" role="listbox" aria-label={t('reception.search.results')} className="patient-options">
          {patients.map((patient, index) => (
            <li
              key={patient.patientId}
              id={optionId(patient)}
              role="option"
              aria-selected={index === active}
              aria-disabled={isChoosable(patient) ? undefined : true}
              className="patient-option"
              data-patient-id={patient.patientId}
              // A click chooses without taking the focus from the box.
              onMouseDown={(event) => event.preventDefault()}
              onClick={() => isChoosable(patient) && onChoose(patient)}
            >
              <PatientFacts patient={patient} />
            </li>
          ))}
        </ul>
      )}
    </form>
  );
}

/** What the search is doing, said politely as it changes (the box's description too); a failure as an alert. */
function SearchStatus({ search }: { search: PatientSearchState }) {
  const { t } = useTranslation();
  const { answer } = search;
  let status = '';
  if (search.searching) status = t('reception.search.searching');
  else if (answer && answer.patients.length === 0) status = t('reception.search.none', { query: answer.query });
  else if (answer && answer.total > answer.patients.length) status = t('reception.search.more', { shown: answer.patients.length, total: answer.total });
  else if (answer) status = t('reception.search.found', { count: answer.total });
  return (
    <>
      <p id="patient-search-status" className="search-status" aria-live="polite">
        {status}
      </p>
      <ErrorAlert message={search.error ? t('reception.search.failed', { detail: describeError(search.error, t) }) : undefined} />
    </>
  );
}
