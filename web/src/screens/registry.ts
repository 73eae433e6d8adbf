import type { ComponentType } from 'react';
import type { Role } from '@medical/contracts/actor';
import { AccessLogScreen } from './accessLog/AccessLogScreen.tsx';
import { BoardScreen } from './board/BoardScreen.tsx';
import { DoctorScreen } from './doctor/DoctorScreen.tsx';
import { ExaminerScreen } from './examiner/ExaminerScreen.tsx';
import { ReceptionScreen } from './reception/ReceptionScreen.tsx';

export type ScreenId = 'reception' | 'doctor' | 'examiner' | 'board' | 'access-log';

/**
 * The console's screens, in navigation order, with the roles that use them (the routes each
 * screen calls allow those roles: packages/contracts/src/permissions.ts). An admin sees all.
 * `live`: the screen follows the live stream of visit changes. A console with no such screen
 * opens no stream: the auditor's, whom the stream's route does not allow, and whose access log
 * is read on request.
 */
export const screens: readonly { id: ScreenId; roles: readonly Role[]; live: boolean; component: ComponentType }[] = [
  { id: 'reception', roles: ['receptionist', 'admin'], live: true, component: ReceptionScreen },
  { id: 'doctor', roles: ['doctor', 'admin'], live: true, component: DoctorScreen },
  { id: 'examiner', roles: ['examiner', 'admin'], live: true, component: ExaminerScreen },
  { id: 'board', roles: ['manager', 'admin'], live: true, component: BoardScreen },
  { id: 'access-log', roles: ['auditor', 'admin'], live: false, component: AccessLogScreen },
];

export function screensFor(roles: readonly Role[]) {
  return screens.filter((screen) => screen.roles.some((role) => roles.includes(role)));
}
