/** A column of a service's tables that holds a catalog code, and old free text from before the codes (npm run catalog:migrate). */
export type CodedColumn = { table: string; column: string; codes: 'department' | 'examination' };
