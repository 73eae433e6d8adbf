import type { ComponentType } from 'react';
import type { Role } from '@medical/contracts/actor';
import { BoardScreen } from './board/BoardScreen.tsx';
import { DoctorScreen } from './doctor/DoctorScreen.tsx';
import { ExaminerScreen } from './examiner/ExaminerScreen.tsx';
import { ReceptionScreen } from './reception/ReceptionScreen.tsx';

export type ScreenId = 'reception' | 'doctor' | 'examiner' | 'board';

/**
 * The console's screens, in navigation order, with the roles that use them (the routes each
 * screen calls allow those roles: packages/contracts/src/permissions.ts). An admin sees all.
 */
export const screens: readonly { id: ScreenId; roles: readonly Role[]; component: ComponentType }[] = [
  { id: 'reception', roles: ['receptionist', 'admin'], component: ReceptionScreen },
  { id: 'doctor', roles: ['doctor', 'admin'], component: DoctorScreen },
  { id: 'examiner', roles: ['examiner', 'admin'], component: ExaminerScreen },
  { id: 'board', roles: ['manager', 'admin'], component: BoardScreen },
];

export function screensFor(roles: readonly Role[]) {
  return screens.filter((screen) => screen.roles.some((role) => roles.includes(role)));
}
