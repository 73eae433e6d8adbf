/**
 * Where an examination's patient is called (issue 21): the waiting room of the department that
 * performs it, as the hospital's catalog says (radiology for a CT, laboratory medicine for a blood
 * count); for an examination no department performs, the visit's own; else the hospital's default
 * department. Pure: the catalog is handed in.
 */

/** The hospital's catalog, as this rule needs it (the platform's Catalog is one). */
export type WaitingRoomCatalog = {
  readonly defaultDepartment: string;
  has(code: string): boolean;
  examination(code: string): { department?: string } | undefined;
  examinationCodeOf(text: string): string | undefined;
};

/**
 * The department whose waiting room examination `examinationType` of a visit of `visitDepartment`
 * is called in. The type is a code of the catalog; for the free text of the prescriptions written
 * before codes ("CT"), the code the catalog says it meant. A department the hospital has since
 * removed is no waiting room: the next choice is taken.
 */
export function waitingRoomOf(examinationType: string, visitDepartment: string | undefined, catalog: WaitingRoomCatalog): string {
  const code = catalog.examination(examinationType) ? examinationType : catalog.examinationCodeOf(examinationType);
  const performing = code === undefined ? undefined : catalog.examination(code)?.department;
  for (const department of [performing, visitDepartment]) {
    if (department !== undefined && catalog.has(department)) return department;
  }
  return catalog.defaultDepartment;
}

/** An examination with no waiting room of its own (ordered before waiting rooms) given the one the catalog says now. */
export function inWaitingRoom<E extends { examinationType: string; visitDepartment?: string; department?: string }>(examination: E, catalog: WaitingRoomCatalog): E & { department: string } {
  if (examination.department !== undefined) return { ...examination, department: examination.department };
  return { ...examination, department: waitingRoomOf(examination.examinationType, examination.visitDepartment, catalog) };
}
