import { useExaminations } from '../i18n/examinations.ts';

/**
 * An examination in a table cell: its name in the console's language with its code beneath (the
 * code is what the examination room's equipment and the other systems show); old free text, or a
 * code this console does not know yet, as it is.
 */
export function ExaminationName({ examinationType }: { examinationType: string }) {
  const examinations = useExaminations();
  const name = examinations.name(examinationType);
  if (!examinations.entry(examinationType)) return <>{name}</>;
  return (
    <>
      <span className="primary-text">{name}</span>
      <span className="secondary-text examination-code">{examinationType}</span>
    </>
  );
}
