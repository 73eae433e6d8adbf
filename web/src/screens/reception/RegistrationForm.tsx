import { useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { PatientView, ReceptionView } from '../../api/types.ts';
import { useFocusAfterRender } from '../../hooks/useFocusAfterRender.ts';
import { NewPatientDialog, prefillFrom, type NewPatientPrefill } from './NewPatientDialog.tsx';
import { PatientSearch } from './PatientSearch.tsx';
import { RegisteredVisit, type ShownTicket } from './RegisteredVisit.tsx';
import { usePatientSearch } from './usePatientSearch.ts';
import { VisitForm } from './VisitForm.tsx';

type RegistrationFormProps = {
  onRegistered: (reception: ReceptionView) => void;
  /** The ticket on show: of the visit just registered, or one asked for again from today's visits. */
  ticket: ShownTicket | null;
};

/**
 * Registers a visit (접수): the desk searches the registry first and registers a patient once.
 * Choosing a patient (Enter on the search, the first match unless the arrows moved) puts the focus
 * on the visit's register button, its department already the hospital's default: a returning
 * patient's visit is the typed number or name, Enter, Enter. After a visit, the search is empty and
 * has the focus again, for the next patient; the visit's queue number and ticket show below.
 */
export function RegistrationForm({ onRegistered, ticket }: RegistrationFormProps) {
  const { t } = useTranslation();
  const search = usePatientSearch();
  const [chosen, setChosen] = useState<PatientView | null>(null);
  const [registering, setRegistering] = useState<NewPatientPrefill | null>(null);
  const searchBox = useRef<HTMLInputElement>(null);
  const submitButton = useRef<HTMLButtonElement>(null);
  const focusAfterRender = useFocusAfterRender();

  function choose(patient: PatientView) {
    setChosen(patient);
    setRegistering(null);
    focusAfterRender(submitButton);
  }

  function changePatient() {
    setChosen(null);
    focusAfterRender(searchBox);
  }

  function visitRegistered(reception: ReceptionView) {
    setChosen(null);
    search.clear();
    focusAfterRender(searchBox);
    onRegistered(reception);
  }

  return (
    <section className="card registration" aria-labelledby="registration-heading">
      <h2 id="registration-heading">{t('reception.form.heading')}</h2>
      {!chosen && <PatientSearch search={search} inputRef={searchBox} onChoose={choose} onRegisterNew={() => setRegistering(prefillFrom(search.text))} />}
      <VisitForm patient={chosen} submitRef={submitButton} onChangePatient={changePatient} onNoPatient={() => searchBox.current?.focus()} onRegistered={visitRegistered} />
      {ticket && <RegisteredVisit key={ticket.reception.id} shown={ticket} />}
      {registering && <NewPatientDialog prefill={registering} onClose={() => setRegistering(null)} onChosen={choose} />}
    </section>
  );
}
