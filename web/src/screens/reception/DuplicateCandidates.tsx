import { useEffect, useRef } from 'react';
import { useTranslation } from 'react-i18next';
import type { PatientView } from '../../api/types.ts';
import { PatientFacts } from './PatientFacts.tsx';

type DuplicateCandidatesProps = {
  candidates: readonly PatientView[];
  submitting: boolean;
  onChoose: (patient: PatientView) => void;
  onRegisterAnyway: () => void;
};

/**
 * The registry's refusal of a new patient who looks like one already registered (409): the
 * look-alikes, each to be chosen instead, and registering anyway for a different person (the
 * registry marks them for a review of duplicates). It takes the focus as it appears, in place of
 * the register button the desk just pressed, so the heading is read out first.
 */
export function DuplicateCandidates({ candidates, submitting, onChoose, onRegisterAnyway }: DuplicateCandidatesProps) {
  const { t } = useTranslation();
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), []);
  return (
    <section className="duplicates" aria-labelledby="duplicates-heading" aria-describedby="duplicates-explain">
      <h3 id="duplicates-heading" ref={heading} tabIndex={-1}>
        {t('reception.duplicates.heading')}
      </h3>
      <p id="duplicates-explain">{t('reception.duplicates.explain')}</p>
      <ul className="duplicate-list">
        {candidates.map((candidate) => (
          <li key={candidate.patientId} data-patient-id={candidate.patientId}>
            <PatientFacts patient={candidate} />
            <button
              type="button"
              className="button secondary"
              aria-label={t('reception.duplicates.chooseNamed', { name: candidate.name, patientId: candidate.patientId })}
              onClick={() => onChoose(candidate)}
            >
              {t('reception.duplicates.choose')}
            </button>
          </li>
        ))}
      </ul>
      <button type="button" className="button primary" disabled={submitting} onClick={onRegisterAnyway}>
        {t('reception.duplicates.registerAnyway')}
      </button>
    </section>
  );
}
